#include "tests/integration/harness.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

extern char** environ;

namespace guestpulse::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "guestpulse-test-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (!made) throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void writeFile(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

Config fastConfig(const fake::FakeMds& mds, const TempDir& dir) {
  using namespace std::chrono_literals;
  Config config;
  config.metadata.endpoint = "http://" + mds.endpoint();
  config.metadata.timeout = 500ms;
  config.retry = {100ms, 2s, 2.0, 3};
  config.probes.metadata.interval = 1s;
  // Only the metadata probe: the certificate probes' attribute writes would share GCE's
  // 10-a-minute budget with what these tests count. Their own tests turn them on.
  config.probes.workloadCerts.enabled = Enablement::False;
  config.probes.mdsMtls.enabled = Enablement::False;
  config.report.serial.device = (dir / "serial.log").string();
  config.report.stateDir = (dir / "state").string();
  config.report.guestAttributes.heartbeat = 10s;
  return config;
}

RunningAgent::RunningAgent(Config config, AgentOptions options) {
  options.handleSignals = false;
  agent_ = std::make_unique<Agent>(io_, std::move(config), std::move(options));
  agent_->start();
  thread_ = std::thread([this] { io_.run(); });
}

RunningAgent::~RunningAgent() { stop(); }

void RunningAgent::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::asio::post(io_, [this] { agent_->requestStop(); });
  thread_.join();
}

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extraEnv,
                                 const std::filesystem::path& stdoutFile,
                                 const std::filesystem::path& stderrFile) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const auto& e : extraEnv) env.push_back(e);
  std::vector<char*> argvPtrs, envPtrs;
  for (const auto& a : argv) argvPtrs.push_back(const_cast<char*>(a.c_str()));
  argvPtrs.push_back(nullptr);
  for (const auto& e : env) envPtrs.push_back(const_cast<char*>(e.c_str()));
  envPtrs.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, stdoutFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderrFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ChildProcess child;
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argvPtrs[0], &actions, nullptr, argvPtrs.data(), envPtrs.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed");
  child.pid = pid;
  return child;
}

bool ChildProcess::signal(int sig) const { return pid > 0 && ::kill(pid, sig) == 0; }

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      pid = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -2;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ChildProcess::killHard() {
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    int status;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }
}

}  // namespace guestpulse::testing
