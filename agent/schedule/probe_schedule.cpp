#include "agent/schedule/probe_schedule.hpp"

namespace guestpulse {

ProbeSchedule::ProbeSchedule(ScheduleSettings settings, UnitRandom random, bool failingAtStart)
    : settings_(settings), random_(std::move(random)), failing_(failingAtStart) {}

Duration ProbeSchedule::firstDelay() {
  return Duration(static_cast<Duration::rep>(random_() * settings_.initialStagger.count()));
}

Duration ProbeSchedule::afterRun(State state) {
  failing_ = state != State::Ok;
  failedCycles_ = failing_ ? failedCycles_ + 1 : 0;
  Duration base = cycleDelay(settings_.backoff, settings_.interval, failedCycles_);
  return base + Duration(static_cast<Duration::rep>(random_() * settings_.jitter * base.count()));
}

}  // namespace guestpulse
