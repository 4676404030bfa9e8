#pragma once
// Decides what goes to the serial console: one line per state transition, a reminder
// while a failure lasts (at most every `reminder`), never a line per retry or per cycle.
// A flapping probe, one that falls into the same cause kFlapThreshold times within
// `reminder`, is debounced: one "flapping" line, then at most one summary line per
// `reminder` until it has been stable for a whole `reminder`. A series of different
// problems is not flapping: each keeps its own lines. I/O-free: finished lines go to a publisher
// (the SerialConsoleSink).

#include <deque>
#include <functional>
#include <map>
#include <string>

#include "agent/health/health_model.hpp"

namespace guestpulse {

class SerialReporter {
 public:
  static constexpr int kFlapThreshold = 3;

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
  std::uint64_t transitionsSuppressed() const { return suppressed_; }

 private:
  struct Flapping {
    std::deque<std::pair<SteadyTime, std::string>> entries;  // falls into a cause, in the window
    SteadyTime lastChange{};
    bool active = false;
    int hidden = 0;  // transitions not written since the last line
  };
  void emit(std::string line);
  // True when the transition should be written as its own line.
  bool admit(const Transition& t);

  Publisher publish_;
  Duration reminder_;
  std::map<std::string, SteadyTime> lastLine_;  // per probe, for reminders
  std::map<std::string, Flapping> flapping_;
  std::uint64_t published_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace guestpulse
