// runCommand on Windows: CreateProcessW in a Job object, so a timeout reaches the whole
// process tree, and nothing the command started outlives the call.
//
// The job has no breakaway flags: whatever the command starts (also with
// DETACHED_PROCESS, CREATE_NEW_PROCESS_GROUP or CREATE_NEW_CONSOLE) is in it, and asking
// for CREATE_BREAKAWAY_FROM_JOB is refused. The job is ended (TerminateJobObject), and the
// call waits until it holds no process, at the timeout, when the command exits (what it
// left running), and when the agent stops (stopAllCommands). If the agent itself goes
// away, even killed, its handle to the job closes and JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
// ends the tree: the job handle is never inherited, so only the agent holds it.
//
// Differences from the POSIX contract, which Windows has no words for:
//  - no SIGTERM: at the timeout the job is ended at once with exit status 1; killGrace is
//    not used and `sigkilled` stays false;
//  - at the agent's stop the job is ended with STATUS_CONTROL_C_EXIT, the status Windows
//    gives a console program ended by Ctrl-C or by closing its window: the result is
//    Signaled with that code;
//  - a process that dies of an exception (NTSTATUS 0xC0000000 and up, e.g. an access
//    violation) is Signaled, with `signal` holding that code.
// argv[0] without a path is looked up in PATH (SearchPathW, ".exe" added when it has no
// extension); the command line is quoted for the C runtime's parser. The child inherits
// only its three standard handles: NUL for stdin, one pipe for stdout and stderr.
//
// Not contained: a process the command has another process start for it (a service, a
// scheduled task, WMI's Win32_Process.Create) is that other process's child, outside
// the job.

#include <windows.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <vector>

#include "platform/common/capped_output.hpp"
#include "platform/exec.hpp"
#include "platform/windows/service_control.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Output is polled at this period while the child runs (anonymous pipes have no
// overlapped reads); an exit ends the wait at once.
constexpr DWORD kPollMs = 20;
// Once the child has exited, how long to wait for the rest of its output.
constexpr milliseconds kDrainWait{100};
// After TerminateJobObject the processes normally end at once.
constexpr DWORD kReapWaitMs = 1000;
// The exit status of what a timeout or the command's own exit leaves to be ended.
constexpr UINT kEndedStatus = 1;
// The exit status of a command the agent's stop ends.
constexpr UINT kStoppedStatus = STATUS_CONTROL_C_EXIT;

// ---- the runs in flight, so the agent's stop can end them all ----

std::mutex gRunsMutex;
std::condition_variable gRunsIdle;
std::set<HANDLE> gRunStops;  // a manual-reset event per run in flight: set = stop now
bool gStopping = false;

// Ends every process in the job and waits until it holds none, at most kReapWaitMs.
// False when some are still there (stuck in a driver): closing the job handle ends them
// when Windows can.
bool endJob(HANDLE job, UINT status) {
  ::TerminateJobObject(job, status);
  for (DWORD waited = 0;; waited += 10) {
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION info{};
    if (!::QueryInformationJobObject(job, JobObjectBasicAccountingInformation, &info, sizeof info,
                                     nullptr))
      return false;
    if (info.ActiveProcesses == 0) return true;
    if (waited >= kReapWaitMs) return false;
    ::Sleep(10);
  }
}

struct Collector {
  std::string& out;
  bool& truncated;
  std::size_t limit;

  // Reads what the pipe holds now. Returns false at end of file (every writer gone).
  bool readAvailable(HANDLE pipe) {
    for (;;) {
      DWORD available = 0;
      if (!::PeekNamedPipe(pipe, nullptr, 0, nullptr, &available, nullptr)) return false;
      if (available == 0) return true;
      char buffer[4096];
      DWORD got = 0;
      if (!::ReadFile(pipe, buffer, std::min<DWORD>(available, sizeof buffer), &got, nullptr))
        return false;
      appendCapped(out, truncated, limit, buffer, got);
    }
  }
};

std::wstring findProgram(const std::string& program, std::string& error) {
  std::wstring wide = win::toWide(program);
  if (program.find_first_of("/\\:") != std::string::npos) return wide;
  std::wstring path = win::toWide(win::environmentVariable(L"PATH"));
  std::vector<wchar_t> found(MAX_PATH);
  for (int i = 0; i < 4; ++i) {
    DWORD length = ::SearchPathW(path.empty() ? nullptr : path.c_str(), wide.c_str(), L".exe",
                                 static_cast<DWORD>(found.size()), found.data(), nullptr);
    if (length == 0) {
      error = "exec " + program + ": not found in PATH: " + win::lastErrorText();
      return {};
    }
    if (length < found.size()) return std::wstring(found.data(), length);
    found.resize(length + 1);
  }
  error = "exec " + program + ": path too long";
  return {};
}

void recordExit(ExecResult& result, DWORD code) {
  // NTSTATUS error codes: the process died of an exception, not by calling exit().
  if (code >= 0xC0000000u && result.outcome != ExecOutcome::TimedOut) {
    result.outcome = ExecOutcome::Signaled;
    result.signal = static_cast<int>(code);
    return;
  }
  result.exitCode = static_cast<int>(code);
  if (result.outcome != ExecOutcome::TimedOut) result.outcome = ExecOutcome::Exited;
}

}  // namespace

std::string signalName(int signal) {
  switch (static_cast<DWORD>(signal)) {
    case 0xC0000005u:
      return "STATUS_ACCESS_VIOLATION";
    case 0xC00000FDu:
      return "STATUS_STACK_OVERFLOW";
    case 0xC0000409u:
      return "STATUS_STACK_BUFFER_OVERRUN";
    case 0xC000013Au:
      return "STATUS_CONTROL_C_EXIT";
    case 0xC0000094u:
      return "STATUS_INTEGER_DIVIDE_BY_ZERO";
    case 0xC000001Du:
      return "STATUS_ILLEGAL_INSTRUCTION";
    case 0xC0000135u:
      return "STATUS_DLL_NOT_FOUND";
    default: {
      char text[32];
      std::snprintf(text, sizeof text, "exception 0x%08lX",
                    static_cast<unsigned long>(static_cast<DWORD>(signal)));
      return text;
    }
  }
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
  std::wstring application = findProgram(program, result.error);
  if (application.empty()) return finish();

  std::wstring commandLine;
  for (const std::string& arg : request.argv) {
    if (!commandLine.empty()) commandLine += L' ';
    commandLine += win::quoteArgument(win::toWide(arg));
  }

  SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE readRaw = nullptr, writeRaw = nullptr;
  if (!::CreatePipe(&readRaw, &writeRaw, &inheritable, 0)) {
    result.error = "exec " + program + ": pipe: " + win::lastErrorText();
    return finish();
  }
  win::Handle readEnd(readRaw), writeEnd(writeRaw);
  ::SetHandleInformation(readEnd.get(), HANDLE_FLAG_INHERIT, 0);
  win::Handle nul(::CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                &inheritable, OPEN_EXISTING, 0, nullptr));
  if (!nul) {
    result.error = "exec " + program + ": open NUL: " + win::lastErrorText();
    return finish();
  }

  // Only these handles are inherited, whatever else is inheritable in this process.
  HANDLE inherit[] = {nul.get(), writeEnd.get()};
  SIZE_T attributeSize = 0;
  ::InitializeProcThreadAttributeList(nullptr, 1, 0, &attributeSize);
  std::vector<char> attributeBuffer(attributeSize);
  auto* attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attributeBuffer.data());
  if (!::InitializeProcThreadAttributeList(attributes, 1, 0, &attributeSize) ||
      !::UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit,
                                   sizeof inherit, nullptr, nullptr)) {
    result.error = "exec " + program + ": " + win::lastErrorText();
    return finish();
  }
  struct AttributeList {
    LPPROC_THREAD_ATTRIBUTE_LIST list;
    ~AttributeList() { ::DeleteProcThreadAttributeList(list); }
  } attributeGuard{attributes};

  win::Handle stopEvent(::CreateEventW(nullptr, TRUE, FALSE, nullptr));
  if (!stopEvent) {
    result.error = "exec " + program + ": CreateEvent: " + win::lastErrorText();
    return finish();
  }
  {
    std::lock_guard lock(gRunsMutex);
    if (gStopping) {
      result.error = "exec " + program + ": not started, the agent is stopping";
      return finish();
    }
    gRunStops.insert(stopEvent.get());
  }
  struct Unregister {
    HANDLE event;
    ~Unregister() {
      std::lock_guard lock(gRunsMutex);
      gRunStops.erase(event);
      gRunsIdle.notify_all();
    }
  } unregister{stopEvent.get()};

  // Not inheritable: only this process holds the job, so its end (even a kill) ends the job.
  win::Handle job(::CreateJobObjectW(nullptr, nullptr));
  if (!job) {
    result.error = "exec " + program + ": CreateJobObject: " + win::lastErrorText();
    return finish();
  }
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  // No breakaway flags: nothing the command starts can leave the job.
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (!::SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation, &limits,
                                 sizeof limits)) {
    result.error = "exec " + program + ": SetInformationJobObject: " + win::lastErrorText();
    return finish();
  }

  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof startup;
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = nul.get();
  startup.StartupInfo.hStdOutput = writeEnd.get();
  startup.StartupInfo.hStdError = writeEnd.get();
  startup.lpAttributeList = attributes;
  PROCESS_INFORMATION info{};
  // Suspended until it is in the job, so not even its first instruction runs outside.
  const DWORD flags = CREATE_SUSPENDED | CREATE_NO_WINDOW | EXTENDED_STARTUPINFO_PRESENT |
                      CREATE_UNICODE_ENVIRONMENT;
  if (!::CreateProcessW(application.c_str(), commandLine.data(), nullptr, nullptr, TRUE, flags,
                        nullptr, nullptr, &startup.StartupInfo, &info)) {
    result.error = "exec " + program + ": " + win::lastErrorText();
    return finish();
  }
  win::Handle process(info.hProcess), thread(info.hThread);
  result.pid = static_cast<int>(info.dwProcessId);
  if (!::AssignProcessToJobObject(job.get(), process.get())) {
    result.error = "exec " + program + ": AssignProcessToJobObject: " + win::lastErrorText();
    ::TerminateProcess(process.get(), 1);
    ::WaitForSingleObject(process.get(), kReapWaitMs);
    result.pid = -1;
    return finish();
  }
  ::ResumeThread(thread.get());
  thread.reset();
  writeEnd.reset();  // only the child writes now, so EOF means every writer is gone
  nul.reset();

  Collector collector{result.output, result.outputTruncated, request.outputLimit};
  bool pipeOpen = true;
  const Clock::time_point deadline = start + request.timeout;
  const HANDLE waits[] = {process.get(), stopEvent.get()};
  bool exited = false;
  // Ends the job after a timeout or a stop: the command exits with `status` unless it
  // ended by itself just before.
  auto endAll = [&](UINT status) {
    result.reaped = endJob(job.get(), status);
    exited = ::WaitForSingleObject(process.get(), 0) == WAIT_OBJECT_0;
    if (!exited) result.reaped = false;
  };
  for (;;) {
    auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left <= milliseconds(0)) {
      result.outcome = ExecOutcome::TimedOut;
      endAll(kEndedStatus);
      break;
    }
    DWORD wait = static_cast<DWORD>(std::min<long long>(left.count(), kPollMs));
    DWORD woke = ::WaitForMultipleObjects(2, waits, FALSE, wait);
    if (pipeOpen && !collector.readAvailable(readEnd.get())) pipeOpen = false;
    if (woke == WAIT_OBJECT_0) {
      exited = true;
      // What the command left running goes now, as on Linux; its output so far stays in
      // the pipe and is read below.
      result.reaped = endJob(job.get(), kEndedStatus);
      break;
    }
    if (woke == WAIT_OBJECT_0 + 1) {
      endAll(kStoppedStatus);
      break;
    }
  }
  if (exited) {
    DWORD code = 0;
    ::GetExitCodeProcess(process.get(), &code);
    recordExit(result, code);
  }
  // Collect what was written last. Every writer is gone once the job is empty, so the
  // pipe ends soon; the bound is for a writer that could not be ended.
  if (pipeOpen) {
    const Clock::time_point drainDeadline = Clock::now() + kDrainWait;
    while (collector.readAvailable(readEnd.get()) && Clock::now() < drainDeadline) ::Sleep(5);
  }
  return finish();
}

void stopAllCommands() {
  std::lock_guard lock(gRunsMutex);
  gStopping = true;
  for (HANDLE event : gRunStops) ::SetEvent(event);
}

void allowCommands() {
  std::lock_guard lock(gRunsMutex);
  gStopping = false;
}

bool waitForCommands(std::chrono::milliseconds bound) {
  std::unique_lock lock(gRunsMutex);
  return gRunsIdle.wait_for(lock, bound, [] { return gRunStops.empty(); });
}

}  // namespace guestpulse::platform
