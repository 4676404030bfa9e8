// fake-mds as a program: its command line, port file and signals, and the listen-address
// parser behind --listen.

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/fake_mds/fake_mds.hpp"
#include "tests/integration/http_test_client.hpp"

#if !defined(_WIN32)
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
extern char** environ;
#endif

namespace {

namespace http = boost::beast::http;
using guestpulse::testing::Client;
using namespace std::chrono_literals;

constexpr const char* kId = "/computeMetadata/v1/instance/id";

}  // namespace

TEST_CASE("fake-mds listen address parsing", "[fake_mds]") {
  using guestpulse::fake::parseListenAddress;
  CHECK(parseListenAddress("169.254.169.254:80")->port == 80);
  CHECK(parseListenAddress("[::1]:0")->host == "::1");
  CHECK_FALSE(parseListenAddress("localhost:80"));
  CHECK_FALSE(parseListenAddress("127.0.0.1"));
  CHECK_FALSE(parseListenAddress("127.0.0.1:65536"));
  CHECK_FALSE(parseListenAddress("::1:80"));
}

#if defined(FAKE_MDS_BINARY) && !defined(_WIN32)
namespace {

// A spawned fake-mds; one still running when its Child goes away (a failed REQUIRE) is
// killed and reaped, so a failing test never leaves a server behind.
struct Child {
  pid_t pid = -1;
  Child() = default;
  Child(Child&& other) noexcept : pid(std::exchange(other.pid, -1)) {}
  Child& operator=(Child&& other) noexcept {
    std::swap(pid, other.pid);
    return *this;
  }
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  // Exit code, or -1 if it did not exit within the timeout (then it is killed).
  int wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        pid = -1;
        return -1;
      }
      std::this_thread::sleep_for(5ms);
    }
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

// The child's stderr goes to /dev/null unless `keepStderr`: the bad-argument cases print
// their (expected) usage errors there.
Child spawn(std::vector<std::string> args, bool keepStderr = false) {
  args.insert(args.begin(), FAKE_MDS_BINARY);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!keepStderr) {
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  Child child;
  int rc = posix_spawn(&child.pid, FAKE_MDS_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return child;
}

// Starts the binary with `args` plus a port file, and waits for the file: the readiness
// protocol scripts use too. Returns the port (0 when it never appeared).
std::uint16_t startListening(Child& child, std::vector<std::string> args) {
  static int serial = 0;
  auto portFile =
      std::filesystem::temp_directory_path() /
      ("fake-mds-test-" + std::to_string(getpid()) + "-" + std::to_string(++serial) + ".port");
  std::filesystem::remove(portFile);
  args.insert(args.end(), {"--listen", "127.0.0.1:0", "--port-file", portFile.string(), "--quiet"});
  child = spawn(args, true);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!std::filesystem::exists(portFile) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  int port = 0;
  std::ifstream(portFile) >> port;
  std::filesystem::remove(portFile);
  return static_cast<std::uint16_t>(port);
}

}  // namespace

TEST_CASE("fake-mds binary writes its port file and exits 0 on SIGTERM", "[fake_mds]") {
  Child child;
  std::uint16_t port = startListening(child, {});
  REQUIRE(port > 0);
  Client c(port);
  CHECK(c.get(kId).status() == 200);
  kill(child.pid, SIGTERM);
  CHECK(child.wait(3s) == 0);
}

TEST_CASE("fake-mds binary: provider, EC2 options and values from the command line", "[fake_mds]") {
  Child ec2;
  std::uint16_t port = startListening(ec2, {"--provider", "ec2", "--imds-v1", "--hop-limit", "2",
                                            "--metadata", "meta-data/instance-id=i-0fedcba987"});
  REQUIRE(port > 0);
  Client c(port);
  CHECK(c.get("/latest/meta-data/instance-id", false).msg.body() == "i-0fedcba987");  // IMDSv1
  CHECK(c.request(http::verb::put, "/latest/api/token", false, "",
                  {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}})
            .status() == 200);
  std::string log = c.get("/_fake/requests", false).msg.body();
  CHECK(log.find("\"ip_ttl\":2") != std::string::npos);
  CHECK(c.get("/_fake/ec2/options", false).msg.body().find("\"http_tokens\":\"optional\"") !=
        std::string::npos);
  kill(ec2.pid, SIGTERM);
  CHECK(ec2.wait(3s) == 0);

  Child gce;
  port = startListening(gce, {"--attribute", "enable-guest-attributes=TRUE", "--metadata",
                              "instance/tags=[\"web\"]"});
  REQUIRE(port > 0);
  Client g(port);
  CHECK(g.request(http::verb::put, "/computeMetadata/v1/instance/guest-attributes/a/b", true, "v")
            .status() == 200);
  CHECK(g.get("/computeMetadata/v1/instance/tags?alt=text").msg.body() == "web");
  kill(gce.pid, SIGTERM);
  CHECK(gce.wait(3s) == 0);
}

TEST_CASE("fake-mds binary exits 2 on bad arguments", "[fake_mds]") {
  CHECK(spawn({"--listen", "localhost:80"}).wait(3s) == 2);
  CHECK(spawn({"--no-such-flag"}).wait(3s) == 2);
  CHECK(spawn({"--provider", "aws"}).wait(3s) == 2);
  CHECK(spawn({"--provider", "ec2", "--hop-limit", "0"}).wait(3s) == 2);
  CHECK(spawn({"--metadata", "no-equals-sign"}).wait(3s) == 2);
}
#endif
