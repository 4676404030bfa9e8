#include "agent/schedule/probe_schedule.hpp"

#include <algorithm>

namespace guestpulse {

ProbeSchedule::ProbeSchedule(ScheduleSettings settings, UnitRandom random, bool failingAtStart)
    : settings_(settings), random_(std::move(random)), failing_(failingAtStart) {}

Duration ProbeSchedule::firstDelay() {
  const Duration bound = std::min(settings_.initialStagger, settings_.interval);
  return Duration(static_cast<Duration::rep>(random_() * static_cast<double>(bound.count())));
}

Duration ProbeSchedule::afterRun(State state) {
  failing_ = state != State::Ok;
  failedCycles_ = failing_ ? failedCycles_ + 1 : 0;
  Duration base = cycleDelay(settings_.backoff, settings_.interval, failedCycles_);
  return base + Duration(static_cast<Duration::rep>(random_() * settings_.jitter * base.count()));
}

}  // namespace guestpulse
