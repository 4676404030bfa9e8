#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <memory>

#include "platform/log_sink.hpp"

namespace guestpulse::platform {

spdlog::sink_ptr makeLogSink() {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  // Under systemd the journal stamps time and unit itself; elsewhere we do.
  if (std::getenv("JOURNAL_STREAM"))
    sink->set_pattern("<%l> [%n] %v");
  else
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  return sink;
}

}  // namespace guestpulse::platform
