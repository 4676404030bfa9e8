#pragma once
// Process-wide setup and facts about how the process was started.

#include <chrono>
#include <optional>
#include <string>

namespace guestpulse::platform {

// Writes to a closed pipe or socket must fail with an error, not kill the daemon.
void ignoreBrokenPipe();
// Whether standard output is a terminal (colour the `check` table only then).
bool stdoutIsTerminal();
// The absolute path of the running program ("" when it cannot be told).
std::string currentExecutable();
// How long the machine has been up (suspended time included); nullopt if unknown.
std::optional<std::chrono::milliseconds> timeSinceBoot();

}  // namespace guestpulse::platform
