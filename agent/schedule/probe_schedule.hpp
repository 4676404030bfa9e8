#pragma once
// When a probe runs next: the schedule of one probe as a sans-I/O state machine, driven by
// the Scheduler (scheduler.hpp) and by tests with a seeded or pinned random source.
//
//  - first run: a random stagger in [0, min(initialStagger, interval)), so a fleet
//    rebooted together does not call the metadata server in lockstep (and a probe never
//    waits longer for its first run than between two runs);
//  - after an OK run: the interval;
//  - while the probe keeps failing, its cycles back off too: max(interval, the backoff
//    ceiling for the number of failed cycles in a row) along `backoff` (retry.initial ×
//    multiplier^n, capped at retry.max), so a long outage costs about one request per
//    retry.max and a recovery is still seen within retry.max;
//  - every delay but the first grows by a random share of up to `jitter` (10 %);
//  - alreadyFailing(): the probe's last run failed (or its restored state was a failure),
//    so the next run spends one attempt instead of the whole retry budget.

#include "agent/core/duration.hpp"
#include "agent/core/random.hpp"
#include "agent/core/retry_policy.hpp"
#include "agent/health/probe_result.hpp"

namespace guestpulse {

struct ScheduleSettings {
  Duration interval = std::chrono::seconds(30);
  Duration initialStagger = std::chrono::milliseconds(500);
  double jitter = 0.1;
  RetrySettings backoff;  // retry.*: the curve failing cycles follow
};

class ProbeSchedule {
 public:
  // `failingAtStart`: the state restored from the last run of the agent was not OK.
  ProbeSchedule(ScheduleSettings settings, UnitRandom random, bool failingAtStart = false);

  // The delay before the first run.
  Duration firstDelay();
  // A run ended in `state`; returns the delay before the next one.
  Duration afterRun(State state);

  bool alreadyFailing() const { return failing_; }
  int consecutiveFailures() const { return failedCycles_; }
  const ScheduleSettings& settings() const { return settings_; }

 private:
  ScheduleSettings settings_;
  UnitRandom random_;
  bool failing_;
  int failedCycles_ = 0;
};

}  // namespace guestpulse
