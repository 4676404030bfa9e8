#include "platform/process.hpp"

#include <time.h>
#include <unistd.h>
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

std::optional<std::chrono::milliseconds> timeSinceBoot() {
  timespec now{};
  if (::clock_gettime(CLOCK_BOOTTIME, &now) != 0) return std::nullopt;
  return std::chrono::seconds(now.tv_sec) + std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::nanoseconds(now.tv_nsec));
}

}  // namespace guestpulse::platform
