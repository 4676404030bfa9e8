// runCommand on Windows against a child program of the tests' own (exec_child.exe):
// output, exit codes, crashes, the timeout ending the whole job, grandchildren, the
// output cap, and programs that cannot start.

#include <windows.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>

#include "platform/exec.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
using platform::ExecOutcome;
using platform::ExecRequest;
using platform::runCommand;

namespace {

ExecRequest child(std::vector<std::string> steps, std::chrono::milliseconds timeout = 10s) {
  ExecRequest r;
  r.argv = {EXEC_CHILD_BINARY};
  for (auto& s : steps) r.argv.push_back(std::move(s));
  r.timeout = timeout;
  return r;
}

bool processAlive(DWORD pid) {
  HANDLE h = ::OpenProcess(SYNCHRONIZE, FALSE, pid);
  if (!h) return false;
  bool alive = ::WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
  ::CloseHandle(h);
  return alive;
}

}  // namespace

TEST_CASE("exec (Windows): output of stdout and stderr, exit 0", "[exec][windows]") {
  auto r = runCommand(child({"print:hello world", "stderr:on stderr"}));
  INFO(r.error);
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.exitCode == 0);
  CHECK(r.output.find("hello world") != std::string::npos);
  CHECK(r.output.find("on stderr") != std::string::npos);
  CHECK(r.pid > 0);
  CHECK_FALSE(r.outputTruncated);
}

TEST_CASE("exec (Windows): a non-zero exit code", "[exec][windows]") {
  auto r = runCommand(child({"print:failing", "exit:3"}));
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.exitCode == 3);
  CHECK(r.output.rfind("failing", 0) == 0);
}

TEST_CASE("exec (Windows): arguments with spaces and quotes arrive whole", "[exec][windows]") {
  auto r = runCommand(child({"print:a \"quoted\" arg with  two spaces\\", "print:"}));
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.output.rfind("a \"quoted\" arg with  two spaces\\", 0) == 0);
}

TEST_CASE("exec (Windows): a crash is reported like a signal", "[exec][windows]") {
  auto r = runCommand(child({"crash"}));
  CHECK(r.outcome == ExecOutcome::Signaled);
  CHECK(static_cast<DWORD>(r.signal) == 0xC0000005u);
  CHECK(platform::signalName(r.signal) == "STATUS_ACCESS_VIOLATION");
  CHECK(platform::signalName(static_cast<int>(0xC0001234u)) == "exception 0xC0001234");
}

// The pid a process of the test wrote, once the file is there (bounded wait).
DWORD pidFrom(const std::string& path) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(path);
    unsigned long pid = 0;
    if (in >> pid && pid != 0) return static_cast<DWORD>(pid);
    ::Sleep(10);
  }
  return 0;
}

TEST_CASE("exec (Windows): the timeout ends the child and its grandchild", "[exec][windows]") {
  testing::TempDir dir;
  const std::string pidFile = (dir / "grandchild.pid").string();
  auto start = std::chrono::steady_clock::now();
  auto r = runCommand(child({"spawn:pid-file:" + pidFile + ";sleep:60000", "sleep:60000"}, 1500ms));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.outcome == ExecOutcome::TimedOut);
  CHECK_FALSE(r.sigkilled);
  CHECK(r.reaped);
  CHECK(took >= 1500ms);
  CHECK(took < 1500ms + 3s);
  CHECK_FALSE(processAlive(static_cast<DWORD>(r.pid)));
  DWORD grandchild = pidFrom(pidFile);
  REQUIRE(grandchild != 0);
  CHECK_FALSE(processAlive(grandchild));
}

TEST_CASE("exec (Windows): nothing started by the command outlives the call", "[exec][windows]") {
  testing::TempDir dir;
  const std::string pidFile = (dir / "grandchild.pid").string();
  // The child leaves a grandchild sleeping with the output pipe open and exits at once:
  // the call returns after a short drain, not after 60 s, and the job takes the grandchild.
  auto start = std::chrono::steady_clock::now();
  auto r = runCommand(child({"spawn:pid-file:" + pidFile + ";sleep:60000", "print:done"}));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.exitCode == 0);
  CHECK(took < 5s);
  CHECK(r.output.find("done") != std::string::npos);
  DWORD grandchild = pidFrom(pidFile);
  REQUIRE(grandchild != 0);
  // Closing the job handle ends it; Windows does that asynchronously.
  for (int i = 0; i < 200 && processAlive(grandchild); ++i) ::Sleep(10);
  CHECK_FALSE(processAlive(grandchild));
}

TEST_CASE("exec (Windows): output beyond the limit is dropped, the child never blocks",
          "[exec][windows]") {
  auto request = child({"flood:1000000", "print:end"});
  request.outputLimit = 100;
  auto r = runCommand(request);
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.exitCode == 0);
  CHECK(r.output.size() == 100);
  CHECK(r.outputTruncated);
}

TEST_CASE("exec (Windows): a program that does not exist", "[exec][windows]") {
  auto r = runCommand(ExecRequest{{"no-such-program-guestpulse"}, 5s, 1s, 4096});
  CHECK(r.outcome == ExecOutcome::SpawnFailed);
  CHECK(r.error.rfind("exec no-such-program-guestpulse: ", 0) == 0);
  auto missing = runCommand(ExecRequest{{"C:\\no\\such\\dir\\prog.exe"}, 5s, 1s, 4096});
  CHECK(missing.outcome == ExecOutcome::SpawnFailed);
  CHECK(missing.error.find("C:\\no\\such\\dir\\prog.exe") != std::string::npos);
  auto empty = runCommand(ExecRequest{});
  CHECK(empty.outcome == ExecOutcome::SpawnFailed);
}

TEST_CASE("exec (Windows): a program found through PATH", "[exec][windows]") {
  // cmd.exe is in %SystemRoot%\System32, which PATH always holds.
  auto r = runCommand(ExecRequest{{"cmd", "/c", "exit 7"}, 10s, 1s, 4096});
  INFO(r.error);
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.exitCode == 7);
}
