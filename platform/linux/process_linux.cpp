#include "platform/process.hpp"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <filesystem>

namespace guestpulse::platform {

void ignoreBrokenPipe() { std::signal(SIGPIPE, SIG_IGN); }

bool stdoutIsTerminal() { return ::isatty(STDOUT_FILENO) == 1; }

std::string currentExecutable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : path.string();
}

void limitOwnResources(std::chrono::seconds cpu, std::uint64_t memoryBytes) {
  const rlim_t seconds = static_cast<rlim_t>(std::max<std::int64_t>(1, cpu.count()));
  rlimit cpuLimit{seconds, seconds + 1};  // SIGXCPU first, SIGKILL a second later
  ::setrlimit(RLIMIT_CPU, &cpuLimit);
  rlimit memory{static_cast<rlim_t>(memoryBytes), static_cast<rlim_t>(memoryBytes)};
  ::setrlimit(RLIMIT_AS, &memory);
}

std::optional<std::chrono::milliseconds> timeSinceBoot() {
  timespec now{};
  if (::clock_gettime(CLOCK_BOOTTIME, &now) != 0) return std::nullopt;
  return std::chrono::seconds(now.tv_sec) + std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::nanoseconds(now.tv_nsec));
}

}  // namespace guestpulse::platform
