// platform::runCommand on Linux with real child processes (/bin/sh, /bin/sleep, ...).
// The timeout cases use timeouts of a few hundred milliseconds.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "platform/exec.hpp"

using namespace guestpulse::platform;
using namespace std::chrono_literals;

namespace {

ExecResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout = 5s,
               std::chrono::milliseconds grace = 1s, std::size_t limit = 4096) {
  ExecRequest request;
  request.argv = std::move(argv);
  request.timeout = timeout;
  request.killGrace = grace;
  request.outputLimit = limit;
  return runCommand(request);
}

// True when `pid` is neither running nor a zombie of ours: runCommand reaped it.
bool reaped(int pid) {
  int status = 0;
  errno = 0;
  return ::waitpid(pid, &status, WNOHANG) == -1 && errno == ECHILD;
}

// True once no process of group `pgid` is alive (zombies waiting for init do not count),
// polling for up to 2 s: killed grandchildren are reaped by init, not by us.
bool eventuallyGroupGone(int pgid) {
  const auto until = std::chrono::steady_clock::now() + 2s;
  for (;;) {
    bool alive = false;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::ifstream in(entry.path() / "stat");
      std::string stat;
      if (!in || !std::getline(in, stat)) continue;
      // pid (comm) state ppid pgrp ...; comm may contain spaces, so parse after ')'.
      std::istringstream rest(stat.substr(stat.rfind(')') + 1));
      char state = 0;
      int ppid = 0, pgrp = 0;
      if (rest >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z') alive = true;
    }
    if (!alive) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

TEST_CASE("exec: exit 0 and non-zero exit codes", "[exec][custom]") {
  ExecResult ok = run({"/bin/true"});
  CHECK(ok.outcome == ExecOutcome::Exited);
  CHECK(ok.exitCode == 0);
  CHECK(ok.pid > 0);
  CHECK(reaped(ok.pid));

  ExecResult fail = run({"/bin/false"});
  CHECK(fail.outcome == ExecOutcome::Exited);
  CHECK(fail.exitCode == 1);

  ExecResult three = run({"/bin/sh", "-c", "echo broken >&2; exit 3"});
  CHECK(three.outcome == ExecOutcome::Exited);
  CHECK(three.exitCode == 3);
  CHECK(three.output == "broken\n");
  CHECK(reaped(three.pid));
}

TEST_CASE("exec: a program without a slash is looked up in PATH", "[exec][custom]") {
  ExecResult r = run({"true"});
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.exitCode == 0);
}

TEST_CASE("exec: stdout and stderr are captured together", "[exec][custom]") {
  ExecResult r = run({"/bin/sh", "-c", "echo out; echo err >&2; echo out2"});
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.output == "out\nerr\nout2\n");
  CHECK_FALSE(r.outputTruncated);
}

TEST_CASE("exec: arguments reach the program as they are, without a shell", "[exec][custom]") {
  const std::string tricky = "$HOME; `id` | cat > /nonexistent * 'q' \"d\"";
  ExecResult r = run({"/bin/echo", tricky});
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.output == tricky + "\n");
}

TEST_CASE("exec: a timeout terminates the command and reaps it", "[exec][custom]") {
  ExecResult r = run({"/bin/sleep", "10"}, 200ms);
  CHECK(r.outcome == ExecOutcome::TimedOut);
  CHECK(r.signal == SIGTERM);
  CHECK_FALSE(r.sigkilled);
  CHECK(r.reaped);
  CHECK(r.elapsed >= 200ms);
  CHECK(r.elapsed < 2s);
  CHECK(reaped(r.pid));
}

TEST_CASE("exec: a command that ignores SIGTERM is killed after the grace period",
          "[exec][custom]") {
  // The ignored disposition is inherited by sleep, so the whole group ignores SIGTERM.
  ExecResult r =
      run({"/bin/sh", "-c", "trap '' TERM; echo started; sleep 10; echo never"}, 200ms, 200ms);
  CHECK(r.outcome == ExecOutcome::TimedOut);
  CHECK(r.sigkilled);
  CHECK(r.signal == SIGKILL);
  CHECK(r.output == "started\n");
  CHECK(r.elapsed >= 400ms);
  CHECK(r.elapsed < 3s);
  CHECK(reaped(r.pid));
  CHECK(eventuallyGroupGone(r.pid));  // sleep went with it
}

TEST_CASE("exec: the timeout reaches the command's children", "[exec][custom]") {
  // sh waits for sleep; killing only sh would leave sleep holding the pipe for 10 s.
  ExecResult r = run({"/bin/sh", "-c", "sleep 10; true"}, 200ms);
  CHECK(r.outcome == ExecOutcome::TimedOut);
  CHECK(r.elapsed < 2s);
  CHECK(reaped(r.pid));
  CHECK(eventuallyGroupGone(r.pid));
}

TEST_CASE("exec: after a timeout, children that outlive the command are killed too",
          "[exec][custom]") {
  // sh dies of SIGTERM at once; its background child ignores SIGTERM.
  ExecResult r = run({"/bin/sh", "-c", "(trap '' TERM; sleep 10) & wait"}, 200ms, 5s);
  CHECK(r.outcome == ExecOutcome::TimedOut);
  CHECK(r.signal == SIGTERM);
  CHECK(r.elapsed < 2s);  // no wait for the grace period
  CHECK(reaped(r.pid));
  CHECK(eventuallyGroupGone(r.pid));
}

TEST_CASE("exec: a background child holding the output open does not delay the result",
          "[exec][custom]") {
  ExecResult r = run({"/bin/sh", "-c", "sleep 5 & echo done"}, 5s);
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.exitCode == 0);
  CHECK(r.output == "done\n");
  CHECK(r.elapsed < 2s);
  ::kill(-r.pid, SIGKILL);  // the leftover sleep, in the command's own process group
}

TEST_CASE("exec: a missing or non-executable program is a spawn error", "[exec][custom]") {
  ExecResult missing = run({"/nonexistent/guestpulse-probe"});
  CHECK(missing.outcome == ExecOutcome::SpawnFailed);
  CHECK(missing.error == "exec /nonexistent/guestpulse-probe: No such file or directory");
  CHECK(missing.pid == -1);

  ExecResult notInPath = run({"guestpulse-no-such-program"});
  CHECK(notInPath.outcome == ExecOutcome::SpawnFailed);
  CHECK(notInPath.error == "exec guestpulse-no-such-program: No such file or directory");

  // A file without any execute bit (even root cannot run it).
  std::string path = (std::filesystem::temp_directory_path() / "gp-exec-XXXXXX").string();
  int fd = ::mkstemp(path.data());
  REQUIRE(fd >= 0);
  ::fchmod(fd, 0644);
  ::close(fd);
  ExecResult notExecutable = run({path});
  std::filesystem::remove(path);
  CHECK(notExecutable.outcome == ExecOutcome::SpawnFailed);
  CHECK(notExecutable.error == "exec " + path + ": Permission denied");

  ExecResult empty = run({});
  CHECK(empty.outcome == ExecOutcome::SpawnFailed);
  CHECK_FALSE(empty.error.empty());
}

TEST_CASE("exec: a crash is reported with its signal", "[exec][custom]") {
  ExecResult r = run({"/bin/sh", "-c", "echo dying; kill -SEGV $$"});
  CHECK(r.outcome == ExecOutcome::Signaled);
  CHECK(r.signal == SIGSEGV);
  CHECK(r.output == "dying\n");
  CHECK(signalName(SIGSEGV) == "SIGSEGV");
  CHECK(signalName(SIGKILL) == "SIGKILL");
}

TEST_CASE("exec: captured output is bounded and the command is never blocked by it",
          "[exec][custom]") {
  // 1 MiB is far more than a pipe holds: the command only finishes if we keep reading.
  ExecResult r =
      run({"/bin/sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' a; exit 4"}, 10s, 1s, 4096);
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.exitCode == 4);
  CHECK(r.output.size() == 4096);
  CHECK(r.output == std::string(4096, 'a'));
  CHECK(r.outputTruncated);
}

TEST_CASE("exec: the child gets /dev/null on stdin and no other descriptor of ours",
          "[exec][custom]") {
  // A descriptor opened without O_CLOEXEC, as a careless library might.
  int leaky = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaky >= 3);
  const std::string fd = std::to_string(leaky);
  ExecResult r = run({"/bin/sh", "-c",
                      "readlink /proc/self/fd/0; if [ -e /proc/self/fd/" + fd +
                          " ]; then echo leaked; fi; ls /proc/self/fd"});
  ::close(leaky);
  CHECK(r.outcome == ExecOutcome::Exited);
  CHECK(r.output.rfind("/dev/null\n", 0) == 0);
  CHECK(r.output.find("leaked") == std::string::npos);
  // ls sees 0, 1, 2 and the directory it is listing (3), nothing else.
  CHECK(r.output.substr(std::string("/dev/null\n").size()) == "0\n1\n2\n3\n");
}

TEST_CASE("exec: signal dispositions are reset for the child", "[exec][custom]") {
  // The agent ignores SIGPIPE; a command must still die of it like under a shell.
  struct sigaction old {};
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  ExecResult r = run({"/bin/sh", "-c", "kill -PIPE $$; echo survived"});
  ::sigaction(SIGPIPE, &old, nullptr);
  CHECK(r.outcome == ExecOutcome::Signaled);
  CHECK(r.signal == SIGPIPE);
}

namespace {

// True once `pid` is gone (not running and not a zombie anyone still holds), within 3 s.
bool eventuallyGone(int pid) {
  const auto until = std::chrono::steady_clock::now() + 3s;
  for (;;) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!in || !std::getline(in, stat)) return true;
    char state = stat.substr(stat.rfind(')') + 2, 1)[0];
    if (state == 'Z' && std::chrono::steady_clock::now() > until) return false;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(20ms);
  }
}

int firstNumber(const std::string& output) {
  try {
    return std::stoi(output);
  } catch (...) {
    return -1;
  }
}

}  // namespace

TEST_CASE("exec: a child that moved to a session of its own does not outlive the command",
          "[exec][custom][hostile]") {
  // setsid leaves the process group, so a kill of the group cannot reach it.
  ExecResult r =
      run({"/bin/sh", "-c", "setsid sh -c 'echo $$; exec sleep 30' & sleep 0.3; exit 0"});
  CHECK(r.outcome == ExecOutcome::Exited);
  int escaped = firstNumber(r.output);
  REQUIRE(escaped > 0);
  CHECK(eventuallyGone(escaped));
  if (::kill(escaped, 0) == 0) ::kill(escaped, SIGKILL);
}

TEST_CASE("exec: a daemon that double-forks is found and killed at the timeout",
          "[exec][custom][hostile]") {
  // The middle process exits at once: the daemon is an orphan in a new session, and it
  // ignores SIGTERM.
  ExecResult r =
      run({"/bin/sh", "-c", "(setsid sh -c 'trap \"\" TERM; echo $$; exec sleep 30' &); sleep 30"},
          300ms, 200ms);
  CHECK(r.outcome == ExecOutcome::TimedOut);
  CHECK(r.elapsed < 3s);
  int daemon = firstNumber(r.output);
  REQUIRE(daemon > 0);
  CHECK(eventuallyGone(daemon));
  if (::kill(daemon, 0) == 0) ::kill(daemon, SIGKILL);
}

TEST_CASE("exec: stopAllCommands ends a command in flight and its tree, at once",
          "[exec][custom][hostile]") {
  ExecResult r;
  std::thread runner([&] {
    r = run({"/bin/sh", "-c", "setsid sleep 60 & echo $!; sleep 60"}, 60s);
  });
  std::this_thread::sleep_for(300ms);
  auto stopAt = std::chrono::steady_clock::now();
  stopAllCommands();
  runner.join();
  auto took = std::chrono::steady_clock::now() - stopAt;
  CHECK(took < 3s);
  CHECK(waitForCommands(1s));
  // No new command while stopping; allowed again afterwards.
  CHECK(run({"/bin/true"}).outcome == ExecOutcome::SpawnFailed);
  allowCommands();
  CHECK(run({"/bin/true"}).exitCode == 0);
  int escaped = firstNumber(r.output);
  REQUIRE(escaped > 0);
  CHECK(eventuallyGone(escaped));
  if (::kill(escaped, 0) == 0) ::kill(escaped, SIGKILL);
}
