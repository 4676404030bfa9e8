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
#include <boost/json.hpp>
#include <catch2/catch.hpp>

extern char** environ;

namespace guestpulse::testing {

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

fake::Options withGuestAttributes(fake::Options options) {
  for (const auto& [path, value] : fake::guestAttributesEnabled()) options.values[path] = value;
  return options;
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
  posix_spawn_file_actions_addopen(&actions, 1, stdoutFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderrFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
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

CheckedProbe checkProbe(const std::filesystem::path& dir, const std::string& yaml,
                        const std::string& mdsEndpoint, const std::string& probeName) {
  writeFile(dir / "g.yaml", yaml);
  auto child = ChildProcess::spawn(
      {GUESTPULSE_BINARY, "check", "-c", (dir / "g.yaml").string(), "--json"},
      {"GCE_METADATA_HOST=" + mdsEndpoint}, dir / "check.out", dir / "check.err");
  CheckedProbe checked;
  checked.exitCode = child.wait(std::chrono::seconds(60));
  if (checked.exitCode == -1) child.killHard();
  std::string out = readFile(dir / "check.out");
  INFO(out << readFile(dir / "check.err"));
  auto text = [](const boost::json::object& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
  };
  auto json = boost::json::parse(out).as_object();
  for (auto& p : json["probes"].as_array()) {
    const auto& row = p.as_object();
    if (text(row, "name") != probeName) continue;
    checked.state = text(row, "state");
    checked.cause = text(row, "cause");
    checked.message = text(row, "message");
  }
  return checked;
}

std::string serialUntil(const Config& config, const std::filesystem::path& dir,
                        const std::string& line) {
  std::filesystem::remove(dir / "serial.log");
  std::filesystem::remove_all(dir / "state");
  RunningAgent running(config);
  eventually([&] { return readFile(dir / "serial.log").find(line) != std::string::npos; },
             std::chrono::seconds(10));
  running.stop();
  return readFile(dir / "serial.log");
}

}  // namespace guestpulse::testing
