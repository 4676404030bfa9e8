// runCommand on Windows against a child program of the tests' own (exec_child.exe):
// output, exit codes, crashes, the timeout ending the whole job, grandchildren (also
// detached ones that ask to leave the job) at the timeout, at the command's exit, at the
// agent's stop and when the agent is killed, the output cap, and programs that cannot start.

#include <windows.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "platform/exec.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
using platform::ExecOutcome;
using platform::ExecRequest;
using platform::runCommand;
using platform::stopAllCommands;

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

// The pid a process of the test wrote, once the file is there (at most 10 s: a process
// of its own starts slowly under wine).
DWORD pidFrom(const std::string& path) {
  for (int i = 0; i < 1000; ++i) {
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
  // the call ends the grandchild, and returns once it is gone, not after 60 s.
  auto start = std::chrono::steady_clock::now();
  auto r =
      runCommand(child({"spawn:pid-file:" + pidFile + ";sleep:60000", "sleep:300", "print:done"}));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.exitCode == 0);
  CHECK(r.reaped);
  CHECK(took < 5s);
  CHECK(r.output.find("done") != std::string::npos);
  DWORD grandchild = pidFrom(pidFile);
  REQUIRE(grandchild != 0);
  CHECK_FALSE(processAlive(grandchild));
}

TEST_CASE("exec (Windows): a detached grandchild that asks to leave the job ends with it",
          "[exec][windows][hostile]") {
  // DETACHED_PROCESS, a process group of its own, no inherited handles (so not the output
  // pipe either) and CREATE_BREAKAWAY_FROM_JOB: what a program does to start a daemon.
  testing::TempDir dir;
  const std::string pidFile = (dir / "daemon.pid").string();
  auto r =
      runCommand(child({"detach:pid-file:" + pidFile + ";sleep:60000", "sleep:300", "print:done"}));
  INFO(r.output);
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.reaped);
  // The job allows no breakaway: the request is refused and the daemon starts inside it.
  CHECK(r.output.find("breakaway refused (5)") != std::string::npos);
  DWORD daemon = pidFrom(pidFile);
  REQUIRE(daemon != 0);
  CHECK_FALSE(processAlive(daemon));
}

TEST_CASE("exec (Windows): the timeout ends a detached grandchild too",
          "[exec][windows][hostile]") {
  testing::TempDir dir;
  const std::string pidFile = (dir / "daemon.pid").string();
  auto start = std::chrono::steady_clock::now();
  auto r = runCommand(child({"detach:pid-file:" + pidFile + ";sleep:60000", "sleep:60000"}, 1s));
  CHECK(r.outcome == ExecOutcome::TimedOut);
  CHECK(r.reaped);
  CHECK(std::chrono::steady_clock::now() - start < 1s + 3s);
  DWORD daemon = pidFrom(pidFile);
  REQUIRE(daemon != 0);
  CHECK_FALSE(processAlive(daemon));
  CHECK_FALSE(processAlive(static_cast<DWORD>(r.pid)));
}

TEST_CASE("exec (Windows): stopAllCommands ends a command in flight and its tree, at once",
          "[exec][windows][hostile]") {
  testing::TempDir dir;
  const std::string pidFile = (dir / "daemon.pid").string();
  platform::ExecResult r;
  std::thread runner([&] {
    r = runCommand(child({"detach:pid-file:" + pidFile + ";sleep:60000", "sleep:60000"}, 60s));
  });
  DWORD daemon = pidFrom(pidFile);  // the command is running once its daemon is
  auto stopAt = std::chrono::steady_clock::now();
  stopAllCommands();
  runner.join();
  CHECK(std::chrono::steady_clock::now() - stopAt < 3s);
  CHECK(platform::waitForCommands(1s));
  CHECK(r.outcome == ExecOutcome::Signaled);
  CHECK(platform::signalName(r.signal) == "STATUS_CONTROL_C_EXIT");
  CHECK(r.reaped);
  REQUIRE(daemon != 0);
  CHECK_FALSE(processAlive(daemon));
  // No new command while stopping; allowed again afterwards.
  auto refused = runCommand(child({"exit:0"}));
  CHECK(refused.outcome == ExecOutcome::SpawnFailed);
  CHECK_THAT(refused.error, Catch::EndsWith("not started, the agent is stopping"));
  platform::allowCommands();
  CHECK(runCommand(child({"exit:0"})).outcome == ExecOutcome::Exited);
}

// Run by the next test in a process of its own, which it then kills: a command that
// started a daemon, as an agent's custom probe would.
TEST_CASE("exec (Windows) holder: runs a command until this process is killed", "[.exec-holder]") {
  const char* pidFile = std::getenv("GUESTPULSE_TEST_DAEMON_PID_FILE");
  REQUIRE(pidFile);
  runCommand(
      child({"detach:pid-file:" + std::string(pidFile) + ";sleep:60000", "sleep:60000"}, 60s));
}

TEST_CASE("exec (Windows): a killed agent's commands end with it", "[exec][windows][hostile]") {
  // The agent's job handle closes with the agent, and KILL_ON_JOB_CLOSE ends the tree:
  // nothing is left for a later agent to find.
  testing::TempDir dir;
  const std::string pidFile = (dir / "daemon.pid").string();
  wchar_t self[MAX_PATH];
  REQUIRE(::GetModuleFileNameW(nullptr, self, MAX_PATH) > 0);
  std::wstring line = L"\"" + std::wstring(self) +
                      L"\" \"exec (Windows) holder: runs a command until this process is killed\"";
  ::SetEnvironmentVariableA("GUESTPULSE_TEST_DAEMON_PID_FILE", pidFile.c_str());
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION info{};
  BOOL started = ::CreateProcessW(nullptr, line.data(), nullptr, nullptr, FALSE, 0, nullptr,
                                  nullptr, &startup, &info);
  ::SetEnvironmentVariableA("GUESTPULSE_TEST_DAEMON_PID_FILE", nullptr);
  REQUIRE(started);
  ::CloseHandle(info.hThread);
  DWORD daemon = pidFrom(pidFile);
  ::TerminateProcess(info.hProcess, 9);
  ::WaitForSingleObject(info.hProcess, 5000);
  ::CloseHandle(info.hProcess);
  REQUIRE(daemon != 0);
  for (int i = 0; i < 300 && processAlive(daemon); ++i) ::Sleep(10);
  CHECK_FALSE(processAlive(daemon));
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
