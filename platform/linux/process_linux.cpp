#include "platform/process.hpp"

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

}  // namespace guestpulse::platform
