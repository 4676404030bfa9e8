#pragma once
// Runs a program for an exec probe: a blocking call, bounded in time, that never leaves
// a child behind.
//
// Contract (runCommand):
//  - argv is passed as is, without a shell: no globbing, quoting or variable expansion.
//    argv[0] without a '/' is looked up in PATH;
//  - the child gets /dev/null on stdin, one pipe on both stdout and stderr, and no other
//    descriptor of ours; signal dispositions and the signal mask are reset to default;
//    it runs in a process group of its own;
//  - nothing the command starts outlives the call: not a child in its process group, not
//    one that moved to a session of its own (setsid) or daemonized by forking twice. On
//    Linux a supervisor process per run is the command's parent and a child subreaper, so
//    every descendant stays in its tree; on Windows the command runs in a Job object that
//    is terminated (and closed with KILL_ON_JOB_CLOSE);
//  - at `timeout` the whole tree gets SIGTERM, after `killGrace` SIGKILL. When the command
//    exits by itself, what it left running gets SIGTERM at once, and SIGKILL after
//    `killGrace`; after a timeout, what is left goes with SIGKILL at once. The call stays
//    bounded by timeout + killGrace + ~1.2 s (a process stuck in the kernel past SIGKILL
//    is left to the supervisor, reaped later);
//  - stopAllCommands() (the agent's stop) ends every run in flight the same way, and a
//    supervisor whose agent goes away (even by SIGKILL) ends its tree by itself;
//  - the first `outputLimit` bytes of stdout and stderr (interleaved as written) are kept;
//    the rest is read and dropped so the child never blocks on a full pipe. Output still
//    held open by a background grandchild is not waited for once the child has exited;
//  - never throws: every failure is a value in ExecResult.
// On Windows the same holds with Windows' means (exec_windows.cpp): the child runs in a Job
// object that allows no breakaway; the job is ended as a whole, at once, at the timeout
// (there is no SIGTERM: killGrace is unused and `sigkilled` stays false), when the command
// exits, and at stopAllCommands() (the command is then Signaled with STATUS_CONTROL_C_EXIT);
// the call returns once the job is empty. A death by an exception (NTSTATUS 0xC0000000 and
// up) is Signaled with that code in `signal`.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace guestpulse::platform {

struct ExecRequest {
  std::vector<std::string> argv;  // argv[0] is the program
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds killGrace{1000};  // between SIGTERM and SIGKILL
  std::size_t outputLimit = 4096;
};

enum class ExecOutcome {
  Exited,       // exitCode is set
  Signaled,     // signal is set (killed by someone else, or crashed)
  TimedOut,     // we stopped it at the timeout; signal/exitCode say how it ended
  SpawnFailed,  // it never ran; error says why
};

struct ExecResult {
  ExecOutcome outcome = ExecOutcome::SpawnFailed;
  int exitCode = -1;
  int signal = 0;
  bool sigkilled = false;  // TimedOut: it ignored SIGTERM for killGrace
  bool reaped = true;      // false only when the reaper thread took over
  std::string output;      // at most outputLimit bytes
  bool outputTruncated = false;
  std::string error;  // SpawnFailed: "exec /usr/bin/foo: No such file or directory"
  std::chrono::milliseconds elapsed{0};
  int pid = -1;  // of the child, once spawned (for tests and logs)
};

ExecResult runCommand(const ExecRequest& request);

// The agent is stopping: every command in flight is stopped now (SIGTERM, SIGKILL after
// its grace), and no new one starts until allowCommands().
void stopAllCommands();
void allowCommands();
// Waits until no runCommand() is in flight, at most `bound`; true when none is.
bool waitForCommands(std::chrono::milliseconds bound);

// "SIGTERM", or "signal 42" when the number has no name.
std::string signalName(int signal);

}  // namespace guestpulse::platform
