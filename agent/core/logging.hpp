#pragma once
// One named spdlog logger per component ("scheduler", "metadata", "guest-attributes",
// "serial", ...), all writing to the same sink: the platform's (platform/log_sink.hpp:
// stderr and the journal on Linux, stderr and the event log on Windows).

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace guestpulse {

// Sets the level for every component logger ("trace".."off"). Returns false for an
// unknown level name. Safe to call again on reload.
bool setLogLevel(std::string_view level);

// `inner` behind a sink that escapes control characters in every message
// (escapeControls), as the shared sink does: the log quotes what servers and commands said.
spdlog::sink_ptr makeEscapingSink(spdlog::sink_ptr inner);

// The logger for a component, created on first use with the shared sinks.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

}  // namespace guestpulse
