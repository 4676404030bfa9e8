#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <thread>

#include "platform/exec.hpp"

extern char** environ;

namespace guestpulse::platform {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After SIGKILL a process normally dies at once; past this it is stuck in the kernel.
constexpr milliseconds kReapWait{1000};
// Once the child has exited, how long to wait for the rest of its output (a background
// grandchild may hold the pipe open indefinitely).
constexpr milliseconds kDrainWait{100};
// Poll period when the kernel cannot give us a pidfd (Linux < 5.3).
constexpr milliseconds kPollTick{20};

std::string errnoText(int error) { return std::system_category().message(error); }

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Keeps the first `limit` bytes and counts the rest.
class OutputCollector {
 public:
  OutputCollector(std::string& out, bool& truncated, std::size_t limit)
      : out_(out), truncated_(truncated), limit_(limit) {}

  // Reads what is available. Returns false at end of file or on a read error.
  bool readAvailable(int fd) {
    char buffer[4096];
    for (;;) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) {
        std::size_t keep = std::min<std::size_t>(static_cast<std::size_t>(n), limit_ - out_.size());
        out_.append(buffer, keep);
        if (keep < static_cast<std::size_t>(n)) truncated_ = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      return false;
    }
  }

 private:
  std::string& out_;
  bool& truncated_;
  std::size_t limit_;
};

// RAII for the spawn attributes so every early return releases them.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

// Fills the file actions and attributes; returns 0 or an errno value.
int prepareSpawn(SpawnSetup& setup, int pipeWrite) {
  int rc = posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&setup.actions, pipeWrite, 1);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&setup.actions, pipeWrite, 2);
  // Descriptors another thread opened without O_CLOEXEC must not leak into the child.
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  if (rc != 0) return rc;

  // The agent ignores SIGPIPE and may block signals; the command must start as from a
  // shell, with default dispositions and nothing blocked.
  sigset_t defaults;
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  sigset_t noneBlocked;
  sigemptyset(&noneBlocked);
  rc = posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&setup.attributes, &noneBlocked);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&setup.attributes, 0);
  if (rc == 0) {
    rc = posix_spawnattr_setflags(
        &setup.attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  }
  return rc;
}

int openPidFd(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return static_cast<int>(fd);
  }
#endif
  return -1;
}

void recordStatus(ExecResult& result, int status) {
  if (WIFEXITED(status)) {
    result.exitCode = WEXITSTATUS(status);
    if (result.outcome != ExecOutcome::TimedOut) result.outcome = ExecOutcome::Exited;
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    if (result.outcome != ExecOutcome::TimedOut) result.outcome = ExecOutcome::Signaled;
  }
}

milliseconds until(Clock::time_point deadline) {
  auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
  return std::max(left, milliseconds(0));
}

}  // namespace

std::string signalName(int signal) {
  if (const char* abbrev = ::sigabbrev_np(signal)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(signal);
}

ExecResult runCommand(const ExecRequest& request) {
  const Clock::time_point start = Clock::now();
  ExecResult result;
  auto finish = [&]() -> ExecResult {
    result.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    return std::move(result);
  };
  if (request.argv.empty() || request.argv.front().empty()) {
    result.error = "exec: no program given";
    return finish();
  }
  const std::string& program = request.argv.front();

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.error = "exec " + program + ": pipe: " + errnoText(errno);
    return finish();
  }
  Fd readEnd(fds[0]);
  Fd writeEnd(fds[1]);
  ::fcntl(readEnd.get(), F_SETFL, ::fcntl(readEnd.get(), F_GETFL) | O_NONBLOCK);

  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const std::string& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  pid_t pid = -1;
  {
    SpawnSetup setup;
    int rc = prepareSpawn(setup, writeEnd.get());
    // glibc reports a failed exec (missing program, no permission) as the return value.
    if (rc == 0)
      rc = ::posix_spawnp(&pid, program.c_str(), &setup.actions, &setup.attributes, argv.data(),
                          environ);
    if (rc != 0) {
      result.error = "exec " + program + ": " + errnoText(rc);
      return finish();
    }
  }
  writeEnd.reset();  // only the child writes now, so EOF means every writer is gone
  result.pid = pid;

  Fd pidFd(openPidFd(pid));
  OutputCollector collector(result.output, result.outputTruncated, request.outputLimit);
  bool pipeOpen = true;

  enum class Phase { Running, Terminating, Killing } phase = Phase::Running;
  Clock::time_point phaseDeadline = start + request.timeout;
  bool exited = false;

  while (!exited) {
    // Look without reaping: while the child is an unreaped zombie its pid, and so its
    // process group id, cannot be reused, so signalling the group stays safe.
    siginfo_t info{};
    int waited = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (waited == 0 && info.si_pid == pid) {
      // After a timeout, whatever of the group outlived the child goes too.
      if (result.outcome == ExecOutcome::TimedOut) ::kill(-pid, SIGKILL);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      recordStatus(result, status);
      exited = true;
      break;
    }
    if (waited < 0 && errno != EINTR) {
      // ECHILD: something else reaped it (SIGCHLD ignored?); its status is lost.
      result.outcome = ExecOutcome::SpawnFailed;
      result.error =
          "wait for " + program + " (pid " + std::to_string(pid) + "): " + errnoText(errno);
      break;
    }

    if (Clock::now() >= phaseDeadline) {
      if (phase == Phase::Running) {
        result.outcome = ExecOutcome::TimedOut;
        ::kill(-pid, SIGTERM);
        phase = Phase::Terminating;
        phaseDeadline = Clock::now() + request.killGrace;
      } else if (phase == Phase::Terminating) {
        result.sigkilled = true;
        ::kill(-pid, SIGKILL);
        phase = Phase::Killing;
        phaseDeadline = Clock::now() + kReapWait;
      } else {
        // Unkillable for now (uninterruptible sleep): reap whenever it finally dies.
        try {
          std::thread([pid] {
            int ignored;
            while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
            }
          }).detach();
        } catch (const std::system_error&) {
          // No thread to be had: the zombie stays until the agent exits.
        }
        result.reaped = false;
        result.signal = SIGKILL;
        break;
      }
      continue;
    }

    pollfd pfds[2];
    nfds_t count = 0;
    if (pipeOpen) pfds[count++] = {readEnd.get(), POLLIN, 0};
    if (pidFd) pfds[count++] = {pidFd.get(), POLLIN, 0};
    milliseconds wait = until(phaseDeadline);
    if (!pidFd) wait = std::min(wait, kPollTick);
    int ready = ::poll(pfds, count, static_cast<int>(std::max<milliseconds::rep>(wait.count(), 1)));
    if (ready > 0 && pipeOpen && pfds[0].revents != 0) {
      if (!collector.readAvailable(readEnd.get())) {
        pipeOpen = false;
        readEnd.reset();
      }
    }
  }

  // The child is gone; collect what it wrote, without waiting on a grandchild that keeps
  // the pipe open.
  if (pipeOpen && exited) {
    const Clock::time_point drainDeadline = Clock::now() + kDrainWait;
    while (pipeOpen) {
      if (!collector.readAvailable(readEnd.get())) break;
      milliseconds wait = until(drainDeadline);
      if (wait.count() == 0) break;
      pollfd pfd{readEnd.get(), POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(wait.count())) <= 0) break;
    }
  }
  return finish();
}

}  // namespace guestpulse::platform
