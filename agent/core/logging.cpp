#include "agent/core/logging.hpp"

#include <mutex>

#include <spdlog/spdlog.h>

#include "platform/log_sink.hpp"

namespace guestpulse {

namespace {

std::mutex loggersMutex;
spdlog::level::level_enum currentLevel = spdlog::level::info;

spdlog::sink_ptr sharedSink() {
  static spdlog::sink_ptr sink = platform::makeLogSink();
  return sink;
}

}  // namespace

bool setLogLevel(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(loggersMutex);
  currentLevel = parsed;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(parsed); });
  return true;
}

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  std::lock_guard lock(loggersMutex);
  if (auto existing = spdlog::get(component)) return existing;
  auto created = std::make_shared<spdlog::logger>(component, sharedSink());
  created->set_level(currentLevel);
  spdlog::register_logger(created);
  return created;
}

}  // namespace guestpulse
