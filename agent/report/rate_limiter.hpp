#pragma once
// An I/O-free limiter enforcing several exact sliding-window limits at once, e.g. GCE's
// guest-attribute limits "at most 10 writes per 60 s and 3 per 1 s":
//
//   RateLimiter limiter({{10, std::chrono::seconds(60)}, {3, std::chrono::seconds(1)}});
//   if (limiter.tryAcquire(now)) send(); else schedule(limiter.nextAllowed(now));
//
// Contract: for every limit {count, window} and every instant a, the acquisitions
// granted at times t with a <= t < a + window number at most `count` (half-open
// windows of exactly `window` length). This is exact, not a token-bucket
// approximation: the limiter remembers the times of the most recent grants (as many
// as the largest count) and admits `now` only if, for each limit, the count-th most
// recent grant is at least `window` old.
//
// Time is passed in, never read: callers use the steady clock, tests a manual one.
// Times should not go backwards between calls; if one does, the limiter treats it as
// the time of the latest grant (time standing still), so a limit is never exceeded.
// Not thread-safe.

#include <cstddef>
#include <vector>

#include "agent/core/duration.hpp"

namespace guestpulse {

struct RateLimit {
  std::size_t count = 0;  // > 0
  Duration window{};      // > 0
};

class RateLimiter {
 public:
  // Throws std::invalid_argument for an empty list, a zero count or a window <= 0.
  explicit RateLimiter(std::vector<RateLimit> limits);

  // Grants and records one acquisition at `now` if every limit allows it.
  bool tryAcquire(SteadyTime now);

  // Whether tryAcquire(now) would succeed, without recording anything.
  bool wouldAllow(SteadyTime now) const;

  // The earliest time >= now at which tryAcquire would succeed (== now when it would
  // succeed already).
  SteadyTime nextAllowed(SteadyTime now) const;

  // Grants recorded in (now - window, now]. Only the most recent grants are kept, so
  // the answer saturates at the largest configured count.
  std::size_t count(Duration window, SteadyTime now) const;

  const std::vector<RateLimit>& limits() const { return limits_; }

  // Forgets every grant.
  void reset();

 private:
  // The k-th most recent grant, k >= 1 and k <= size_.
  SteadyTime recent(std::size_t k) const;
  // `now`, but never earlier than the latest grant: keeps the ring in time order.
  SteadyTime clamp(SteadyTime now) const;

  std::vector<RateLimit> limits_;
  std::vector<SteadyTime> ring_;  // capacity = largest count
  std::size_t head_ = 0;          // where the next grant is written
  std::size_t size_ = 0;          // grants remembered, <= ring_.size()
};

}  // namespace guestpulse
