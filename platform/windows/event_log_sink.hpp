#pragma once
// An spdlog sink that reports each message to the Windows Event Log (the Application log,
// under the source `guestpulse`), for WARN and above by default. Its messages use event
// ID 1 of the message table built into guestpulse.exe (guestpulse_messages.mc: "%1"),
// which `service install` registers as the source's EventMessageFile, so Event Viewer
// shows the text itself.
//
// The writing is injectable so tests can see what would be reported (type, ID, text):
// wine accepts ReportEventW but keeps no log to read back.

#include <windows.h>

#include <functional>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>

namespace guestpulse::platform::win {

inline constexpr const wchar_t* kEventSource = L"guestpulse";
inline constexpr DWORD kEventIdMessage = 1;  // "%1" in guestpulse_messages.mc

struct EventRecord {
  WORD type = EVENTLOG_INFORMATION_TYPE;  // EVENTLOG_WARNING_TYPE, EVENTLOG_ERROR_TYPE
  DWORD eventId = kEventIdMessage;
  std::wstring text;
};

// Returns whether the event was accepted.
using EventReporter = std::function<bool(const EventRecord&)>;

// ReportEventW on a handle from RegisterEventSourceW(nullptr, kEventSource), opened on the
// first event. An unregistered source still logs (Event Viewer then says the description
// is missing, and shows the text as an insertion string).
EventReporter systemEventReporter();

class EventLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit EventLogSink(EventReporter reporter);
  // Events the reporter refused (no access to the log, log full); never thrown.
  unsigned long failures() const { return failures_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  EventReporter reporter_;
  unsigned long failures_ = 0;
};

// WORD event type for a level: WARN → warning, ERROR and CRITICAL → error, else information.
WORD eventTypeFor(spdlog::level::level_enum level);

}  // namespace guestpulse::platform::win
