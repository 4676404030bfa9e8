// The log on Windows: every message to stderr (a console, or the file a service wrapper
// captures), and WARN and above also to the Application event log, where Windows admins
// and their monitoring look first.

#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <memory>

#include "platform/log_sink.hpp"
#include "platform/windows/event_log_sink.hpp"

namespace guestpulse::platform {

spdlog::sink_ptr makeLogSink() {
  auto stderrSink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  stderrSink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l [%n] %v");
  // The event log stamps time, level and source itself.
  auto eventSink = std::make_shared<win::EventLogSink>(win::systemEventReporter());
  eventSink->set_pattern("[%n] %v");
  eventSink->set_level(spdlog::level::warn);
  auto both = std::make_shared<spdlog::sinks::dist_sink_mt>();
  both->add_sink(stderrSink);
  both->add_sink(eventSink);
  return both;
}

}  // namespace guestpulse::platform
