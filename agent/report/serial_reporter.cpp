#include "agent/report/serial_reporter.hpp"

#include "agent/report/serial_line.hpp"

namespace guestpulse {

void SerialReporter::emit(std::string line) {
  ++published_;
  publish_(std::move(line));
}

void SerialReporter::onTransition(const Transition& t) {
  SerialEvent event;
  event.time = t.at.wall;
  event.level = std::string(levelFor(t.to));
  event.probe = t.probe;
  event.state = t.to;
  bool recovered = t.to == State::Ok && t.from && *t.from != State::Ok;
  if (recovered) {
    event.message = "recovered after " + formatDuration(t.timeInPrevious);
    if (!t.result.cause.empty()) event.cause = t.result.cause;  // informational finding
  } else {
    event.cause = t.result.cause;
    event.message = t.result.message;
    event.fix = t.result.fix;
  }
  lastLine_[t.probe] = t.at.steady;
  emit(formatSerialLine(event));
}

void SerialReporter::onResult(const std::string& probe, const ProbeHealth& health, Timestamp now) {
  if (!health.known || health.state == State::Ok) return;
  auto last = lastLine_.find(probe);
  if (last == lastLine_.end()) {
    lastLine_[probe] = now.steady;  // state restored from an earlier run: remind later
    return;
  }
  if (now.steady - last->second < reminder_) return;
  SerialEvent event;
  event.time = now.wall;
  event.level = std::string(levelFor(health.state));
  event.probe = probe;
  event.state = health.state;
  event.cause = health.last.cause;
  event.message = "still " + std::string(toString(health.state)) + " after " +
                  formatDuration(std::chrono::duration_cast<Duration>(now.steady - health.since.steady)) +
                  ": " + health.last.message;
  event.fix = health.last.fix;
  last->second = now.steady;
  emit(formatSerialLine(event));
}

void SerialReporter::note(const std::string& level, const std::string& message, WallTime when,
                          const std::string& cause, const std::string& fix) {
  SerialEvent event;
  event.time = when;
  event.level = level;
  event.cause = cause;
  event.message = message;
  event.fix = fix;
  emit(formatSerialLine(event));
}

}  // namespace guestpulse
