// runCommand on Windows: CreateProcessW in a Job object, so a timeout reaches the whole
// process tree, and nothing the command started outlives the call.
//
// Differences from the POSIX contract, which Windows has no words for:
//  - no SIGTERM: at the timeout the job is ended at once (TerminateJobObject); killGrace
//    is not used and `sigkilled` stays false;
//  - a process that dies of an exception (NTSTATUS 0xC0000000 and up, e.g. an access
//    violation) is Signaled, with `signal` holding that code;
//  - whatever the command left running in its job is ended when the call returns
//    (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE), even after a clean exit.
// argv[0] without a path is looked up in PATH (SearchPathW, ".exe" added when it has no
// extension); the command line is quoted for the C runtime's parser. The child inherits
// only its three standard handles: NUL for stdin, one pipe for stdout and stderr.

#include <windows.h>

#include <algorithm>
#include <vector>

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
      std::size_t keep = std::min<std::size_t>(got, limit - std::min(limit, out.size()));
      out.append(buffer, keep);
      if (keep < got) truncated = true;
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
  bool exited = false;
  while (!exited) {
    auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left <= milliseconds(0)) {
      result.outcome = ExecOutcome::TimedOut;
      ::TerminateJobObject(job.get(), 1);
      if (::WaitForSingleObject(process.get(), kReapWaitMs) != WAIT_OBJECT_0) {
        result.reaped = false;  // the job handle's closing ends it when Windows can
        break;
      }
      exited = true;
      break;
    }
    DWORD wait = static_cast<DWORD>(std::min<long long>(left.count(), kPollMs));
    if (::WaitForSingleObject(process.get(), wait) == WAIT_OBJECT_0) exited = true;
    if (pipeOpen && !collector.readAvailable(readEnd.get())) pipeOpen = false;
  }
  if (exited) {
    DWORD code = 0;
    ::GetExitCodeProcess(process.get(), &code);
    recordExit(result, code);
  }
  // Collect what it wrote last, without waiting on a grandchild that keeps the pipe open.
  if (pipeOpen && exited) {
    const Clock::time_point drainDeadline = Clock::now() + kDrainWait;
    while (collector.readAvailable(readEnd.get()) && Clock::now() < drainDeadline) ::Sleep(5);
  }
  return finish();
}

}  // namespace guestpulse::platform
