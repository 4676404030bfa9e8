#include "agent/report/serial_reporter.hpp"

#include "agent/report/serial_line.hpp"

namespace guestpulse {

void SerialReporter::emit(std::string line) {
  ++published_;
  publish_(std::move(line));
}

bool SerialReporter::admit(const Transition& t) {
  if (!t.from) return true;  // the first result after start is always said
  Flapping& f = flapping_[t.probe];
  f.lastChange = t.at.steady;
  if (f.active) {
    ++f.hidden;
    ++suppressed_;
    return false;
  }
  if (t.to == State::Ok) return true;
  // Count how often the probe fell into this same cause within the window.
  f.entries.emplace_back(t.at.steady, t.result.cause);
  while (!f.entries.empty() && t.at.steady - f.entries.front().first > reminder_)
    f.entries.pop_front();
  int sameCause = 0;
  for (const auto& [when, cause] : f.entries) sameCause += cause == t.result.cause;
  if (sameCause < kFlapThreshold) return true;
  f.active = true;
  f.hidden = 0;
  SerialEvent event;
  event.time = t.at.wall;
  event.level = "WARN";
  event.probe = t.probe;
  event.state = t.to;
  event.cause = t.result.cause;
  event.message = "flapping: " + t.result.cause + " " + std::to_string(sameCause) +
                  " times within " + formatDuration(reminder_) +
                  "; further changes summarised every " + formatDuration(reminder_) +
                  (t.result.message.empty() ? "" : "; now: " + t.result.message);
  event.fix = t.result.fix;
  lastLine_[t.probe] = t.at.steady;
  emit(formatSerialLine(event));
  return false;
}

void SerialReporter::onTransition(const Transition& t) {
  if (!admit(t)) return;
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
  if (!health.known) return;
  if (auto f = flapping_.find(probe); f != flapping_.end() && f->second.active) {
    Flapping& flap = f->second;
    SteadyTime lastChange = flap.lastChange;
    auto last = lastLine_.find(probe);
    bool quiet = now.steady - lastChange >= reminder_;
    bool due = last == lastLine_.end() || now.steady - last->second >= reminder_;
    if (!quiet && !due) return;
    SerialEvent event;
    event.time = now.wall;
    event.level = quiet ? std::string(levelFor(health.state)) : "WARN";
    event.probe = probe;
    event.state = health.state;
    event.cause = health.current.cause;
    event.message = (quiet ? "stable again after flapping" : "still flapping") + std::string(": ") +
                    std::to_string(flap.hidden) + " state changes not shown; now " +
                    std::string(toString(health.state)) +
                    (health.last.message.empty() ? "" : ": " + health.last.message);
    if (health.state != State::Ok) event.fix = health.current.fix;
    flap.hidden = 0;
    if (quiet) {
      flap.active = false;
      flap.entries.clear();
    }
    lastLine_[probe] = now.steady;
    emit(formatSerialLine(event));
    return;
  }
  if (health.state == State::Ok) return;
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
  event.message =
      "still " + std::string(toString(health.state)) + " after " +
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
