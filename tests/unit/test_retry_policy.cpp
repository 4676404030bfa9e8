#include <catch2/catch.hpp>

#include "agent/core/retry_policy.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {
RetrySettings settings(int attempts = 5) { return {1000ms, 60000ms, 2.0, attempts}; }
UnitRandom fixed(double value) {
  return [value] { return value; };
}
}  // namespace

TEST_CASE("retryable outcomes: 5xx, 429, 408 and transport errors, never other 4xx", "[retry]") {
  CHECK(isRetryable(AttemptOutcome::transport()));
  for (int s : {500, 502, 503, 504, 429, 408}) CHECK(isRetryable(AttemptOutcome::status(s)));
  for (int s : {400, 401, 403, 404, 412, 200, 301})
    CHECK_FALSE(isRetryable(AttemptOutcome::status(s)));
}

TEST_CASE("a status the provider calls transient is retried within the same budget", "[retry]") {
  // Azure IMDS answers 410 (and 404) while it is being updated: retry those, nothing else.
  CHECK(isRetryable(AttemptOutcome::transientStatus(410)));
  CHECK(isRetryable(AttemptOutcome::transientStatus(404)));
  CHECK_FALSE(isRetryable(AttemptOutcome::status(410)));
  RetryPolicy policy(settings(3), fixed(1.0));
  CHECK(policy.onFailure(AttemptOutcome::transientStatus(410)) == 1000ms);
  CHECK(policy.onFailure(AttemptOutcome::transientStatus(410)) == 2000ms);
  CHECK_FALSE(policy.onFailure(AttemptOutcome::transientStatus(410)));
}

TEST_CASE("full jitter stays under a ceiling that doubles up to max", "[retry]") {
  RetryPolicy top(settings(10), fixed(1.0));
  std::vector<long> delays;
  while (auto d = top.onFailure(AttemptOutcome::status(503))) delays.push_back(d->count());
  CHECK(delays == std::vector<long>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000});

  RetryPolicy bottom(settings(), fixed(0.0));
  CHECK(bottom.onFailure(AttemptOutcome::transport()) == 0ms);

  // Seeded randomness: every delay lands inside its window.
  RetryPolicy seeded(settings(20), makeUnitRandom(42));
  for (int i = 0; i < 19; ++i) {
    Duration ceiling = seeded.ceiling(i);
    auto d = seeded.onFailure(AttemptOutcome::status(503));
    REQUIRE(d);
    CHECK(*d >= 0ms);
    CHECK(*d <= ceiling);
  }
}

TEST_CASE("the ceiling follows a fractional multiplier and saturates at max", "[retry]") {
  RetrySettings s;
  s.initial = 1000ms;
  s.max = 60s;
  s.multiplier = 1.5;
  RetryPolicy policy(s, fixed(1.0));
  CHECK(policy.ceiling(0) == 1000ms);
  CHECK(policy.ceiling(1) == 1500ms);
  CHECK(policy.ceiling(2) == 2250ms);
  CHECK(policy.ceiling(3) == 3375ms);
  // A huge retry count neither overflows nor takes long: it stops at the cap.
  CHECK(policy.ceiling(1'000'000'000) == 60s);
  CHECK(policy.ceiling(-3) == 1000ms);
}

TEST_CASE("the attempt budget counts the first try", "[retry]") {
  RetryPolicy policy(settings(3), fixed(0.5));
  CHECK(policy.onFailure(AttemptOutcome::status(503)));
  CHECK(policy.onFailure(AttemptOutcome::status(503)));
  CHECK_FALSE(policy.onFailure(AttemptOutcome::status(503)));  // 3 attempts made

  RetryPolicy single(settings(1), fixed(0.5));
  CHECK_FALSE(single.onFailure(AttemptOutcome::transport()));
}

TEST_CASE("404 is never retried and reset starts from the initial delay", "[retry]") {
  RetryPolicy policy(settings(), fixed(1.0));
  CHECK_FALSE(policy.onFailure(AttemptOutcome::status(404)));
  CHECK(policy.onFailure(AttemptOutcome::status(503)) == 1000ms);
  CHECK(policy.onFailure(AttemptOutcome::status(503)) == 2000ms);
  policy.reset();
  CHECK(policy.onFailure(AttemptOutcome::status(503)) == 1000ms);
}

TEST_CASE("a failing probe's cycles back off to retry.max, not below the interval", "[retry]") {
  RetrySettings s = settings();
  CHECK(cycleDelay(s, 30s, 0) == 30s);
  CHECK(cycleDelay(s, 30s, 1) == 30s);  // 2s ceiling < interval
  CHECK(cycleDelay(s, 30s, 5) == 32s);  // 1s * 2^5
  CHECK(cycleDelay(s, 30s, 6) == 60s);
  CHECK(cycleDelay(s, 30s, 100) == 60s);      // capped, no overflow
  CHECK(cycleDelay(s, 10min, 100) == 10min);  // never shorter than the interval
}

TEST_CASE("a long outage costs about one request per retry.max", "[retry]") {
  // Simulate the scheduler: the first failing cycle spends the whole budget, later ones
  // one attempt each (the probe is already known to be failing).
  RetrySettings s = settings();
  Duration elapsed{0};
  int requests = 0, failedCycles = 0;
  while (elapsed < 2h) {
    requests += failedCycles == 0 ? s.attempts : 1;
    ++failedCycles;
    elapsed += cycleDelay(s, 30s, failedCycles);
  }
  double perSecond = requests / 7200.0;
  CHECK(perSecond < 0.02);  // Google's guest agent: ~10/s during an outage
  CHECK(requests < 7200 / 60 + 10);
}
