#include <windows.h>

#include <algorithm>
#include <vector>

#include "platform/process.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {

// Windows has no SIGPIPE: a write to a closed pipe or socket already fails with an error.
void ignoreBrokenPipe() {}

bool stdoutIsTerminal() {
  DWORD mode = 0;
  return ::GetConsoleMode(::GetStdHandle(STD_OUTPUT_HANDLE), &mode) != 0;
}

std::string currentExecutable() {
  std::vector<wchar_t> buffer(MAX_PATH);
  for (int i = 0; i < 6; ++i) {
    DWORD length = ::GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size()));
    if (length == 0) return {};
    if (length < buffer.size()) return win::toUtf8(std::wstring_view(buffer.data(), length));
    buffer.resize(buffer.size() * 2);  // truncated: a long path
  }
  return {};
}

// A job object of this process's own, with a per-process CPU time and memory limit:
// Windows ends the process when it uses more CPU time, and fails its allocations beyond
// the memory. Nested jobs (Windows 8 and later) let this work inside the service's job too.
void limitOwnResources(std::chrono::seconds cpu, std::uint64_t memoryBytes) {
  HANDLE job = ::CreateJobObjectW(nullptr, nullptr);
  if (!job) return;
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags =
      JOB_OBJECT_LIMIT_PROCESS_TIME | JOB_OBJECT_LIMIT_PROCESS_MEMORY;
  // Per-process user time, in 100 ns units.
  limits.BasicLimitInformation.PerProcessUserTimeLimit.QuadPart =
      std::max<long long>(1, cpu.count()) * 10'000'000LL;
  limits.ProcessMemoryLimit = static_cast<SIZE_T>(memoryBytes);
  if (::SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits))
    ::AssignProcessToJobObject(job, ::GetCurrentProcess());
  // The handle stays open for the life of the process: closing the last one would leave
  // the job (and its limits) to be torn down.
}

// GetTickCount64 counts from boot and includes time spent in sleep or hibernation.
std::optional<std::chrono::milliseconds> timeSinceBoot() {
  return std::chrono::milliseconds(static_cast<long long>(::GetTickCount64()));
}

}  // namespace guestpulse::platform
