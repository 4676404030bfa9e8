// ProbeSchedule: stagger, jitter, backoff while failing and "already failing", driven
// with pinned and seeded random sources (no clock at all: the schedule only returns
// delays).

#include <catch2/catch.hpp>

#include "agent/schedule/probe_schedule.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {

ScheduleSettings settings() {
  ScheduleSettings s;
  s.interval = 30s;
  s.initialStagger = 500ms;
  s.jitter = 0.1;
  s.backoff = {1s, 60s, 2.0, 5};
  return s;
}

UnitRandom pinned(double value) {
  return [value] { return value; };
}

}  // namespace

TEST_CASE("schedule: the first run is staggered within initialStagger", "[schedule]") {
  CHECK(ProbeSchedule(settings(), pinned(0.0)).firstDelay() == 0ms);
  CHECK(ProbeSchedule(settings(), pinned(0.5)).firstDelay() == 250ms);
  CHECK(ProbeSchedule(settings(), pinned(0.999)).firstDelay() < 500ms);
}

TEST_CASE("schedule: a first run waits no longer than one interval", "[schedule]") {
  ScheduleSettings s = settings();
  s.initialStagger = 30s;
  s.interval = 2s;
  CHECK(ProbeSchedule(s, pinned(0.5)).firstDelay() == 1s);
  s.interval = 10min;
  CHECK(ProbeSchedule(s, pinned(0.5)).firstDelay() == 15s);
}

TEST_CASE("schedule: healthy runs come every interval plus up to 10 % jitter", "[schedule]") {
  ProbeSchedule low(settings(), pinned(0.0));
  CHECK(low.afterRun(State::Ok) == 30s);
  ProbeSchedule high(settings(), pinned(1.0));
  CHECK(high.afterRun(State::Ok) == 33s);
  ProbeSchedule seeded(settings(), makeUnitRandom(42));
  for (int i = 0; i < 1000; ++i) {
    Duration d = seeded.afterRun(State::Ok);
    REQUIRE(d >= 30s);
    REQUIRE(d <= 33s);
  }
}

TEST_CASE("schedule: failing cycles back off to retry.max, and reset on recovery", "[schedule]") {
  ScheduleSettings s = settings();
  s.interval = 10s;
  ProbeSchedule schedule(s, pinned(0.0));
  CHECK_FALSE(schedule.alreadyFailing());
  // ceilings 2, 4, 8 stay under the interval; then 16, 32, 60 (capped), 60 ...
  std::vector<Duration> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(schedule.afterRun(State::Failed));
  CHECK(delays == std::vector<Duration>{10s, 10s, 10s, 16s, 32s, 60s, 60s, 60s});
  CHECK(schedule.alreadyFailing());
  CHECK(schedule.consecutiveFailures() == 8);
  CHECK(schedule.afterRun(State::Degraded) == 60s);  // DEGRADED is not OK either
  CHECK(schedule.afterRun(State::Ok) == 10s);
  CHECK_FALSE(schedule.alreadyFailing());
  CHECK(schedule.consecutiveFailures() == 0);
  CHECK(schedule.afterRun(State::Failed) == 10s);  // the backoff starts over
}

TEST_CASE("schedule: a failure restored from the last run counts as already failing",
          "[schedule]") {
  ProbeSchedule restored(settings(), pinned(0.0), /*failingAtStart=*/true);
  CHECK(restored.alreadyFailing());
  CHECK(restored.consecutiveFailures() == 0);  // but the backoff starts at the interval
  CHECK(restored.afterRun(State::Ok) == 30s);
  CHECK_FALSE(restored.alreadyFailing());
}

TEST_CASE("schedule: an hour of outage costs about one run per retry.max", "[schedule]") {
  ProbeSchedule schedule(settings(), makeUnitRandom(7));
  Duration elapsed{0};
  int runs = 0;
  while (elapsed < 1h) {
    elapsed += schedule.afterRun(State::Failed);
    ++runs;
  }
  // 30 s cycles until the ceiling passes the interval, then 60-66 s: ~58 runs.
  CHECK(runs >= 50);
  CHECK(runs <= 62);
}
