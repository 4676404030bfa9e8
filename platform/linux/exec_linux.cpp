// runCommand on Linux. The command does not run as the agent's child but as the child of
// a small supervisor process forked for each run, which makes itself a child subreaper
// (PR_SET_CHILD_SUBREAPER): whatever the command starts, even a daemon that double-forks
// and calls setsid(), is re-parented to the supervisor when its parent exits, instead of
// to init. The supervisor can therefore always find the whole tree (by walking /proc) and
// end it: at the timeout, when the command exits, when the agent asks (stopAllCommands),
// and when the agent itself goes away (its end of the control pipe closes).
//
// The supervisor is forked from a multi-threaded process and never calls exec, so it only
// makes async-signal-safe system calls: no allocation, no locks, no stdio.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "platform/common/capped_output.hpp"
#include "platform/exec.hpp"

extern char** environ;

namespace guestpulse::platform {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After SIGKILL a process normally dies at once; past this it is stuck in the kernel.
constexpr milliseconds kReapWait{1000};
// Once the command has exited, how long to wait for the rest of its output.
constexpr milliseconds kDrainWait{100};

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
        appendCapped(out_, truncated_, limit_, buffer, static_cast<std::size_t>(n));
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

// ---- the runs in flight, so the agent's stop can end them all ----

std::mutex gRunsMutex;
std::condition_variable gRunsIdle;
std::set<int> gRunControls;  // the control pipe of each run in flight
bool gStopping = false;

// ---- what the supervisor tells runCommand, one fixed-size record at a time ----

enum class Report : int { Started, SpawnFailed, TimedOut, Exited, Sigkilled, Unkillable, Done };
struct ReportRecord {
  Report kind;
  int value;  // pid, errno or wait status
};

// ---- the supervisor: async-signal-safe code only ----

std::int64_t monotonicMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

void sendReport(int fd, Report kind, int value) {
  ReportRecord record{kind, value};
  while (::write(fd, &record, sizeof record) < 0 && errno == EINTR) {
  }
}

// Closes every descriptor from `first` up except the `keep` ones.
void closeFrom(int first, const int* keep, int count) {
  rlimit limit{};
  int max = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536
                ? static_cast<int>(limit.rlim_cur)
                : 65536;
  for (int fd = first; fd < max; ++fd) {
    bool kept = false;
    for (int k = 0; k < count; ++k) kept = kept || keep[k] == fd;
    if (kept) continue;
#ifdef SYS_close_range
    // Close the whole gap up to the next kept descriptor in one call where the kernel can.
    int next = max;
    for (int k = 0; k < count; ++k)
      if (keep[k] > fd && keep[k] < next) next = keep[k];
    if (::syscall(SYS_close_range, fd, next - 1, 0) == 0) {
      fd = next - 1;
      continue;
    }
#endif
    ::close(fd);
  }
}

// Parses "pid (comm) S ppid ..." from /proc/<pid>/stat; -1 when unreadable.
int parentOf(const char* pidText) {
  char path[64] = "/proc/";
  std::size_t n = ::strlen(path);
  for (const char* p = pidText; *p && n < sizeof path - 6; ++p) path[n++] = *p;
  ::memcpy(path + n, "/stat", 6);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buffer[512];
  ssize_t got = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (got <= 0) return -1;
  buffer[got] = '\0';
  // comm may hold spaces and parentheses: the fields resume after the last ')'.
  char* close = nullptr;
  for (char* p = buffer; *p; ++p)
    if (*p == ')') close = p;
  if (!close || close[1] != ' ' || !close[2] || close[3] != ' ') return -1;
  int ppid = 0;
  for (char* p = close + 4; *p >= '0' && *p <= '9'; ++p) ppid = ppid * 10 + (*p - '0');
  return ppid;
}

struct ProcEntry {
  int pid;
  int ppid;
};
constexpr std::size_t kMaxProcs = 1 << 16;

// Signals every descendant of `root` (the supervisor) and the command's process group.
// Returns how many processes were signalled.
int signalTree(int root, int commandGroup, int sig, ProcEntry* table) {
  std::size_t count = 0;
  int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    alignas(8) char buffer[8192];
    for (;;) {
      long got = ::syscall(SYS_getdents64, dir, buffer, sizeof buffer);
      if (got <= 0) break;
      for (long offset = 0; offset < got;) {
        auto* entry = reinterpret_cast<struct dirent64*>(buffer + offset);
        offset += entry->d_reclen;
        const char* name = entry->d_name;
        if (name[0] < '1' || name[0] > '9' || count >= kMaxProcs) continue;
        int pid = 0;
        for (const char* p = name; *p >= '0' && *p <= '9'; ++p) pid = pid * 10 + (*p - '0');
        int ppid = parentOf(name);
        if (ppid > 0) table[count++] = {pid, ppid};
      }
    }
    ::close(dir);
  }
  // Mark descendants: the supervisor's children, then theirs, until nothing is added.
  // The ppid field is reused as the mark (0) once an entry is taken.
  int signalled = 0;
  bool added = true;
  while (added) {
    added = false;
    for (std::size_t i = 0; i < count; ++i) {
      if (table[i].ppid == 0) continue;
      bool child = table[i].ppid == root;
      for (std::size_t j = 0; !child && j < count; ++j)
        child = table[j].ppid == 0 && table[j].pid == table[i].ppid;
      if (!child) continue;
      table[i].ppid = 0;
      ::kill(table[i].pid, sig);
      ++signalled;
      added = true;
    }
  }
  if (commandGroup > 0 && ::kill(-commandGroup, sig) == 0) ++signalled;
  return signalled;
}

// Runs in the forked command: the program with the request's descriptors, or an errno
// written to `errorFd`.
[[noreturn]] void execCommand(char* const* candidates, char* const* argv, int outputFd,
                              int errorFd) {
  ::setpgid(0, 0);
  struct sigaction defaults {};
  defaults.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &defaults, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0 && devnull != 0) {
    ::dup2(devnull, 0);
    ::close(devnull);
  }
  ::dup2(outputFd, 1);
  ::dup2(outputFd, 2);
  int keep[] = {errorFd};
  closeFrom(3, keep, 1);  // errorFd is close-on-exec: gone once the program runs
  int error = ENOENT;
  bool denied = false;
  for (char* const* c = candidates; *c; ++c) {
    ::execve(*c, argv, environ);
    if (errno == EACCES) denied = true;
    if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) {
      error = errno;
      break;
    }
    error = errno;
  }
  if (denied && (error == ENOENT || error == ENOTDIR)) error = EACCES;
  while (::write(errorFd, &error, sizeof error) < 0 && errno == EINTR) {
  }
  ::_exit(127);
}

struct SupervisorSetup {
  char* const* candidates;
  char* const* argv;
  int outputFd;   // the command's stdout and stderr
  int controlFd;  // from runCommand: a byte = stop now; end of file = the agent is gone
  int reportFd;   // to runCommand
  std::int64_t timeoutMs;
  std::int64_t graceMs;
};

[[noreturn]] void supervise(const SupervisorSetup& s) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  // waitpid() must see every exit: an inherited SIG_IGN for SIGCHLD would reap silently.
  struct sigaction childDefault {};
  childDefault.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &childDefault, nullptr);
  ::setpgid(0, 0);  // a terminal's Ctrl-C for the agent does not reach here
  int keep[] = {s.outputFd, s.controlFd, s.reportFd};
  closeFrom(3, keep, 3);  // the agent's sockets and files are not the supervisor's to hold
  void* memory = ::mmap(nullptr, kMaxProcs * sizeof(ProcEntry), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  auto* table = memory == MAP_FAILED ? nullptr : static_cast<ProcEntry*>(memory);

  int errorPipe[2];
  if (::pipe2(errorPipe, O_CLOEXEC) != 0) {
    sendReport(s.reportFd, Report::SpawnFailed, errno);
    ::_exit(0);
  }
  const std::int64_t start = monotonicMs();
  pid_t command = ::fork();
  if (command == 0) execCommand(s.candidates, s.argv, s.outputFd, errorPipe[1]);
  ::close(errorPipe[1]);
  ::close(s.outputFd);  // only the command writes now, so end of file means it is done
  if (command < 0) {
    sendReport(s.reportFd, Report::SpawnFailed, errno);
    ::_exit(0);
  }
  int spawnError = 0;
  ssize_t got;
  while ((got = ::read(errorPipe[0], &spawnError, sizeof spawnError)) < 0 && errno == EINTR) {
  }
  ::close(errorPipe[0]);
  if (got == sizeof spawnError) {
    int ignored;
    while (::waitpid(command, &ignored, 0) < 0 && errno == EINTR) {
    }
    sendReport(s.reportFd, Report::SpawnFailed, spawnError);
    ::_exit(0);
  }
  sendReport(s.reportFd, Report::Started, command);

  // Stopping: none yet; Term: SIGTERM sent, SIGKILL at `killAt`; Kill: SIGKILL each tick.
  enum { Running, Term, Kill } phase = Running;
  bool commandDone = false, unkillableSaid = false, controlOpen = true;
  std::int64_t killAt = 0, killSince = 0;
  auto killEverything = [&] {
    if (table) signalTree(::getpid(), commandDone ? 0 : command, SIGKILL, table);
    if (!commandDone) ::kill(-command, SIGKILL);
  };
  auto beginStop = [&](bool timedOut) {
    if (phase != Running) return;
    if (timedOut) sendReport(s.reportFd, Report::TimedOut, 0);
    if (table) signalTree(::getpid(), commandDone ? 0 : command, SIGTERM, table);
    if (!commandDone) ::kill(-command, SIGTERM);
    phase = Term;
    killAt = monotonicMs() + s.graceMs;
  };
  for (;;) {
    // Reap: the command, and whatever was re-parented here and has died.
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid == command) {
        commandDone = true;
        sendReport(s.reportFd, Report::Exited, status);
        // Past the timeout, or asked to stop: what is left of the tree goes at once.
        if (phase != Running) {
          phase = Kill;
          killSince = monotonicMs();
        } else {
          beginStop(false);  // leftovers of a finished command: SIGTERM, then SIGKILL
        }
        continue;
      }
      if (pid > 0) continue;
      if (pid < 0 && errno == EINTR) continue;
      if (pid < 0 && errno == ECHILD && commandDone) {
        sendReport(s.reportFd, Report::Done, 0);
        ::_exit(0);
      }
      break;
    }
    const std::int64_t now = monotonicMs();
    if (phase == Running && now - start >= s.timeoutMs) beginStop(true);
    if (phase == Term && now >= killAt) {
      if (!commandDone) sendReport(s.reportFd, Report::Sigkilled, 0);
      phase = Kill;
      killSince = now;
    }
    if (phase == Kill) {
      killEverything();
      if (!commandDone && !unkillableSaid && now - killSince >= kReapWait.count()) {
        sendReport(s.reportFd, Report::Unkillable, 0);
        unkillableSaid = true;
      }
    }
    pollfd control{s.controlFd, POLLIN, 0};
    int wait = phase == Kill ? 10 : 20;
    if (::poll(&control, controlOpen ? 1 : 0, wait) > 0 && controlOpen) {
      char byte;
      ssize_t n = ::read(s.controlFd, &byte, 1);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) controlOpen = false;
      if (phase == Running) beginStop(false);  // a byte or the agent gone: stop now
      if (!controlOpen && phase == Term) {
        phase = Kill;  // nobody waits for a result any more: no grace
        killSince = monotonicMs();
      }
    }
  }
}

// Where a program named in argv[0] may be: itself when it holds a '/', else each PATH
// entry (the default path when PATH is unset), as execvp looks.
std::vector<std::string> candidatesFor(const std::string& program) {
  if (program.find('/') != std::string::npos) return {program};
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    out.push_back((dir.empty() ? std::string(".") : dir) + "/" + program);
    start = end + 1;
  }
  return out;
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

void reapLater(pid_t pid) {
  try {
    std::thread([pid] {
      int ignored;
      while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
      }
    }).detach();
  } catch (const std::system_error&) {
    // No thread to be had: the zombie stays until the agent exits.
  }
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

  // Everything the supervisor and the command need is made before the fork.
  std::vector<std::string> candidates = candidatesFor(program);
  std::vector<char*> candidatePtrs;
  for (std::string& c : candidates) candidatePtrs.push_back(c.data());
  candidatePtrs.push_back(nullptr);
  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const std::string& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  int output[2], control[2], report[2];
  if (::pipe2(output, O_CLOEXEC) != 0) {
    result.error = "exec " + program + ": pipe: " + errnoText(errno);
    return finish();
  }
  Fd outputRead(output[0]), outputWrite(output[1]);
  if (::pipe2(control, O_CLOEXEC) != 0) {
    result.error = "exec " + program + ": pipe: " + errnoText(errno);
    return finish();
  }
  Fd controlRead(control[0]), controlWrite(control[1]);
  if (::pipe2(report, O_CLOEXEC) != 0) {
    result.error = "exec " + program + ": pipe: " + errnoText(errno);
    return finish();
  }
  Fd reportRead(report[0]), reportWrite(report[1]);
  ::fcntl(outputRead.get(), F_SETFL, ::fcntl(outputRead.get(), F_GETFL) | O_NONBLOCK);
  ::fcntl(controlWrite.get(), F_SETFL, ::fcntl(controlWrite.get(), F_GETFL) | O_NONBLOCK);

  {
    std::lock_guard lock(gRunsMutex);
    if (gStopping) {
      result.error = "exec " + program + ": not started, the agent is stopping";
      return finish();
    }
    gRunControls.insert(controlWrite.get());
  }
  struct Unregister {
    int fd;
    ~Unregister() {
      std::lock_guard lock(gRunsMutex);
      gRunControls.erase(fd);
      gRunsIdle.notify_all();
    }
  } unregister{controlWrite.get()};

  SupervisorSetup setup{candidatePtrs.data(),
                        argv.data(),
                        outputWrite.get(),
                        controlRead.get(),
                        reportWrite.get(),
                        std::max<std::int64_t>(request.timeout.count(), 0),
                        std::max<std::int64_t>(request.killGrace.count(), 0)};
  pid_t supervisor = ::fork();
  if (supervisor < 0) {
    result.error = "exec " + program + ": fork: " + errnoText(errno);
    return finish();
  }
  if (supervisor == 0) supervise(setup);
  outputWrite.reset();
  controlRead.reset();
  reportWrite.reset();

  OutputCollector collector(result.output, result.outputTruncated, request.outputLimit);
  bool outputOpen = true, exited = false, done = false, reportOpen = true;
  // The supervisor keeps its own time; this bound only guards against it going silent.
  const Clock::time_point hardDeadline =
      start + request.timeout + request.killGrace + kReapWait + milliseconds(2000);
  std::optional<Clock::time_point> drainUntil, doneUntil;

  while (reportOpen && !done) {
    if (exited) {
      if (!outputOpen && !doneUntil) doneUntil = Clock::now() + request.killGrace + kReapWait;
      if (doneUntil && Clock::now() >= *doneUntil) break;
      if (drainUntil && Clock::now() >= *drainUntil) {
        outputOpen = false;  // a leftover holds the pipe: its output is not waited for
        if (!doneUntil) doneUntil = Clock::now() + request.killGrace + kReapWait;
      }
    }
    if (Clock::now() >= hardDeadline) break;
    pollfd pfds[2];
    nfds_t count = 0;
    pfds[count++] = {reportRead.get(), POLLIN, 0};
    if (outputOpen) pfds[count++] = {outputRead.get(), POLLIN, 0};
    milliseconds wait = until(hardDeadline);
    if (drainUntil) wait = std::min(wait, until(*drainUntil));
    if (doneUntil) wait = std::min(wait, until(*doneUntil));
    ::poll(pfds, count, static_cast<int>(std::max<milliseconds::rep>(wait.count(), 1)));
    if (outputOpen && count > 1 && pfds[1].revents != 0 &&
        !collector.readAvailable(outputRead.get()))
      outputOpen = false;
    if (pfds[0].revents == 0) continue;
    ReportRecord record{};
    ssize_t got = ::read(reportRead.get(), &record, sizeof record);
    if (got < 0 && errno == EINTR) continue;
    if (got != sizeof record) {
      reportOpen = false;
      break;
    }
    switch (record.kind) {
      case Report::Started:
        result.pid = record.value;
        break;
      case Report::SpawnFailed:
        result.outcome = ExecOutcome::SpawnFailed;
        result.error = "exec " + program + ": " + errnoText(record.value);
        break;
      case Report::TimedOut:
        result.outcome = ExecOutcome::TimedOut;
        break;
      case Report::Sigkilled:
        result.sigkilled = true;
        break;
      case Report::Exited:
        recordStatus(result, record.value);
        exited = true;
        drainUntil = Clock::now() + kDrainWait;
        break;
      case Report::Unkillable:
        result.reaped = false;
        result.signal = SIGKILL;
        exited = true;
        done = true;
        break;
      case Report::Done:
        done = true;
        break;
    }
  }
  if (outputOpen) collector.readAvailable(outputRead.get());  // what is already there
  if (!exited && result.outcome != ExecOutcome::SpawnFailed) {
    result.reaped = false;
    if (result.error.empty() && !reportOpen)
      result.error = "exec " + program + ": the supervisor process ended unexpectedly";
  }
  // The supervisor exits once its tree is empty; if it has not yet, reap it later.
  int status = 0;
  pid_t waited;
  while ((waited = ::waitpid(supervisor, &status, done ? 0 : WNOHANG)) < 0 && errno == EINTR) {
  }
  if (waited == 0) reapLater(supervisor);
  return finish();
}

void stopAllCommands() {
  std::lock_guard lock(gRunsMutex);
  gStopping = true;
  for (int fd : gRunControls) {
    char stop = 'S';
    while (::write(fd, &stop, 1) < 0 && errno == EINTR) {
    }
  }
}

void allowCommands() {
  std::lock_guard lock(gRunsMutex);
  gStopping = false;
}

bool waitForCommands(std::chrono::milliseconds bound) {
  std::unique_lock lock(gRunsMutex);
  return gRunsIdle.wait_for(lock, bound, [] { return gRunControls.empty(); });
}

}  // namespace guestpulse::platform
