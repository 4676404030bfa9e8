#pragma once
// Process-wide setup and facts about how the process was started.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace guestpulse::platform {

// Writes to a closed pipe or socket must fail with an error, not kill the daemon.
void ignoreBrokenPipe();
// Whether standard output is a terminal (colour the `check` table only then).
bool stdoutIsTerminal();
// The absolute path of the running program ("" when it cannot be told).
std::string currentExecutable();
// Caps this process's own CPU time and memory (Linux: RLIMIT_CPU, whose soft limit sends
// SIGXCPU, and RLIMIT_AS; Windows: a job object's limits). For a short-lived child that
// does risky work; never for the daemon. Best effort: a limit that cannot be set is left.
void limitOwnResources(std::chrono::seconds cpu, std::uint64_t memoryBytes);
// How long the machine has been up (suspended time included); nullopt if unknown.
std::optional<std::chrono::milliseconds> timeSinceBoot();

}  // namespace guestpulse::platform
