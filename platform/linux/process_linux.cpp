#include "platform/process.hpp"

#include <unistd.h>
#include <csignal>

namespace guestpulse::platform {

void ignoreBrokenPipe() { std::signal(SIGPIPE, SIG_IGN); }

bool stdoutIsTerminal() { return ::isatty(STDOUT_FILENO) == 1; }

}  // namespace guestpulse::platform
