#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <stdexcept>
#include <vector>

#include "agent/report/rate_limiter.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {

const SteadyTime kStart = SteadyTime() + 1000h;  // away from the epoch, like a real clock

RateLimiter gceLimiter() { return RateLimiter({{10, 60s}, {3, 1s}}); }

// The largest number of grants in any half-open window [a, a + window). Checking the
// windows that start at a grant is enough: sliding a window's start forward to the
// first grant it holds never loses one.
std::size_t maxInAnyWindow(const std::vector<SteadyTime>& grants, Duration window) {
  std::size_t best = 0, j = 0;
  for (std::size_t i = 0; i < grants.size(); ++i) {
    j = std::max(j, i);
    while (j < grants.size() && grants[j] - grants[i] < window) ++j;
    best = std::max(best, j - i);
  }
  return best;
}

}  // namespace

TEST_CASE("rate limiter: rejects bad limits", "[rate_limiter]") {
  CHECK_THROWS_AS(RateLimiter({}), std::invalid_argument);
  CHECK_THROWS_AS(RateLimiter({{0, 1s}}), std::invalid_argument);
  CHECK_THROWS_AS(RateLimiter({{3, 0s}}), std::invalid_argument);
  CHECK_NOTHROW(RateLimiter({{1, 1ms}}));
}

TEST_CASE("rate limiter: 3 per second, then 10 per minute", "[rate_limiter]") {
  RateLimiter limiter = gceLimiter();
  SteadyTime t = kStart;
  CHECK(limiter.tryAcquire(t));
  CHECK(limiter.tryAcquire(t));
  CHECK(limiter.tryAcquire(t + 10ms));
  CHECK_FALSE(limiter.wouldAllow(t + 500ms));
  CHECK_FALSE(limiter.tryAcquire(t + 999ms));
  CHECK(limiter.nextAllowed(t + 500ms) == t + 1s);
  CHECK(limiter.count(1s, t + 500ms) == 3);

  // Exactly one second after the oldest of the three: allowed again (half-open).
  CHECK(limiter.tryAcquire(t + 1s));
  CHECK(limiter.tryAcquire(t + 1s));
  CHECK_FALSE(limiter.tryAcquire(t + 1s + 5ms));
  CHECK(limiter.nextAllowed(t + 1s + 5ms) == t + 1s + 10ms);

  CHECK(limiter.tryAcquire(t + 3s));
  CHECK(limiter.tryAcquire(t + 3s));
  CHECK(limiter.tryAcquire(t + 3s));
  CHECK(limiter.tryAcquire(t + 5s));
  CHECK(limiter.tryAcquire(t + 5s));  // 10th in this minute
  CHECK(limiter.count(60s, t + 5s) == 10);
  CHECK_FALSE(limiter.tryAcquire(t + 10s));
  // The minute limit now rules: the first grant (at t) leaves the window at t + 60s.
  CHECK(limiter.nextAllowed(t + 10s) == t + 60s);
  CHECK_FALSE(limiter.tryAcquire(t + 60s - 1ms));
  CHECK(limiter.tryAcquire(t + 60s));
  CHECK(limiter.tryAcquire(t + 60s));  // the second grant at t also left
  CHECK_FALSE(limiter.tryAcquire(t + 60s));
  CHECK(limiter.nextAllowed(t + 60s) == t + 60s + 10ms);
}

TEST_CASE("rate limiter: nextAllowed is now when allowed, and is exact", "[rate_limiter]") {
  RateLimiter limiter({{2, 100ms}});
  CHECK(limiter.nextAllowed(kStart) == kStart);
  REQUIRE(limiter.tryAcquire(kStart));
  REQUIRE(limiter.tryAcquire(kStart + 30ms));
  SteadyTime next = limiter.nextAllowed(kStart + 40ms);
  CHECK(next == kStart + 100ms);
  CHECK_FALSE(limiter.wouldAllow(next - 1ns));
  CHECK(limiter.wouldAllow(next));
  limiter.reset();
  CHECK(limiter.count(1h, kStart + 40ms) == 0);
  CHECK(limiter.tryAcquire(kStart + 40ms));
}

TEST_CASE("rate limiter: time going backwards never opens a window", "[rate_limiter]") {
  RateLimiter limiter({{2, 1s}});
  REQUIRE(limiter.tryAcquire(kStart + 10s));
  REQUIRE(limiter.tryAcquire(kStart + 10s));
  CHECK_FALSE(limiter.tryAcquire(kStart));
  CHECK(limiter.nextAllowed(kStart) == kStart + 11s);
}

TEST_CASE("rate limiter: 30 simulated minutes of heavy demand", "[rate_limiter]") {
  RateLimiter limiter = gceLimiter();
  std::vector<SteadyTime> grants;
  const SteadyTime end = kStart + 30min;
  for (SteadyTime t = kStart; t < end; t += 10ms) {
    if (limiter.tryAcquire(t)) grants.push_back(t);
  }
  CHECK(maxInAnyWindow(grants, 60s) == 10);
  CHECK(maxInAnyWindow(grants, 1s) == 3);
  // Demand always exceeds supply, so the limiter should hand out (almost) all of it:
  // 10 per minute over 30 minutes.
  CHECK(grants.size() >= 30 * 10 - 1);
  CHECK(grants.size() <= 30 * 10 + 10);
}

TEST_CASE("rate limiter: random bursty demand never exceeds any window", "[rate_limiter]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> gapMs(0, 400);
  std::bernoulli_distribution burst(0.1);
  RateLimiter limiter({{10, 60s}, {3, 1s}, {6, 5s}});
  std::vector<SteadyTime> grants;
  SteadyTime t = kStart;
  const SteadyTime end = kStart + 30min;
  std::size_t waitedForNext = 0;
  while (t < end) {
    // Some callers poll blindly, others sleep exactly until nextAllowed.
    if (limiter.tryAcquire(t)) {
      grants.push_back(t);
    } else if (burst(rng)) {
      SteadyTime next = limiter.nextAllowed(t);
      REQUIRE(next > t);
      REQUIRE(limiter.tryAcquire(next));
      grants.push_back(next);
      t = next;
      ++waitedForNext;
    }
    t += std::chrono::milliseconds(gapMs(rng));
  }
  CHECK(waitedForNext > 0);
  CHECK(maxInAnyWindow(grants, 60s) <= 10);
  CHECK(maxInAnyWindow(grants, 1s) <= 3);
  CHECK(maxInAnyWindow(grants, 5s) <= 6);
  CHECK(maxInAnyWindow(grants, 60s) == 10);  // the limit is reached, not just respected
}

TEST_CASE("rate limiter: count() looks back over recent grants", "[rate_limiter]") {
  RateLimiter limiter = gceLimiter();
  REQUIRE(limiter.tryAcquire(kStart));
  REQUIRE(limiter.tryAcquire(kStart + 2s));
  REQUIRE(limiter.tryAcquire(kStart + 4s));
  CHECK(limiter.count(1s, kStart + 4s) == 1);
  CHECK(limiter.count(3s, kStart + 4s) == 2);
  CHECK(limiter.count(60s, kStart + 4s) == 3);
  CHECK(limiter.count(60s, kStart + 62s) == 1);
  CHECK(limiter.count(60s, kStart + 64s) == 0);
}
