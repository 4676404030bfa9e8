#include "platform/windows/event_log_sink.hpp"

#include "platform/windows/win_text.hpp"

namespace guestpulse::platform::win {

WORD eventTypeFor(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::warn:
      return EVENTLOG_WARNING_TYPE;
    case spdlog::level::err:
    case spdlog::level::critical:
      return EVENTLOG_ERROR_TYPE;
    default:
      return EVENTLOG_INFORMATION_TYPE;
  }
}

EventReporter systemEventReporter() {
  // One handle for the process, opened on first use and kept: DeregisterEventSource at
  // exit would race with loggers still running on other threads.
  struct Source {
    std::mutex mutex;
    HANDLE handle = nullptr;
  };
  static Source source;
  return [](const EventRecord& record) {
    std::lock_guard lock(source.mutex);
    if (!source.handle) source.handle = ::RegisterEventSourceW(nullptr, kEventSource);
    if (!source.handle) return false;
    const wchar_t* strings[] = {record.text.c_str()};
    return ::ReportEventW(source.handle, record.type, 0, record.eventId, nullptr, 1, 0, strings,
                          nullptr) != 0;
  };
}

EventLogSink::EventLogSink(EventReporter reporter) : reporter_(std::move(reporter)) {}

void EventLogSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  std::string_view text(formatted.data(), formatted.size());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  // An insertion string is limited to 31,839 characters; ours are log lines, far shorter,
  // but a pasted config error could in principle be long.
  constexpr std::size_t kMaxChars = 31000;
  EventRecord record{eventTypeFor(msg.level), kEventIdMessage, toWide(text)};
  if (record.text.size() > kMaxChars) record.text.resize(kMaxChars);
  if (!reporter_ || !reporter_(record)) ++failures_;
}

}  // namespace guestpulse::platform::win
