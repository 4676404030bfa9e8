#include "agent/core/logging.hpp"

#include <mutex>

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include "agent/core/text.hpp"
#include "platform/log_sink.hpp"

namespace guestpulse {

namespace {

std::mutex loggersMutex;
spdlog::level::level_enum currentLevel = spdlog::level::info;

// Log lines quote what servers, files and commands said: control characters in them are
// escaped here, once for every component, so the terminal or journal viewer showing the
// log cannot be steered by them and no line can be forged with an embedded newline.
class EscapingSink final : public spdlog::sinks::sink {
 public:
  explicit EscapingSink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}
  void log(const spdlog::details::log_msg& msg) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!hasControls(payload)) {
      inner_->log(msg);
      return;
    }
    std::string escaped = escapeControls(payload);
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  spdlog::sink_ptr inner_;
};

spdlog::sink_ptr sharedSink() {
  static spdlog::sink_ptr sink = makeEscapingSink(platform::makeLogSink());
  return sink;
}

}  // namespace

spdlog::sink_ptr makeEscapingSink(spdlog::sink_ptr inner) {
  return std::make_shared<EscapingSink>(std::move(inner));
}

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
