#pragma once
// Decides what goes to the serial console: one line per state transition, a reminder
// while a failure lasts (at most every `reminder`), never a line per retry or per cycle.
// I/O-free: it hands finished lines to a publisher (the SerialConsoleSink).

#include <functional>
#include <map>
#include <string>

#include "agent/health/health_model.hpp"

namespace guestpulse {

class SerialReporter {
 public:
  using Publisher = std::function<void(std::string line)>;
  SerialReporter(Publisher publisher, Duration reminder)
      : publish_(std::move(publisher)), reminder_(reminder) {}

  // A transition from the HealthModel.
  void onTransition(const Transition& transition);
  // Every result, so a lasting failure gets its reminder.
  void onResult(const std::string& probe, const ProbeHealth& health, Timestamp now);
  // Agent-level notes (start, stop, reload, guest attributes disabled).
  void note(const std::string& level, const std::string& message, WallTime when,
            const std::string& cause = {}, const std::string& fix = {});

  void setReminder(Duration reminder) { reminder_ = reminder; }
  std::uint64_t linesPublished() const { return published_; }

 private:
  void emit(std::string line);

  Publisher publish_;
  Duration reminder_;
  std::map<std::string, SteadyTime> lastLine_;  // per probe, for reminders
  std::uint64_t published_ = 0;
};

}  // namespace guestpulse
