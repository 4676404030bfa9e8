#include "agent/report/rate_limiter.hpp"

#include <algorithm>
#include <stdexcept>

namespace guestpulse {

RateLimiter::RateLimiter(std::vector<RateLimit> limits) : limits_(std::move(limits)) {
  if (limits_.empty()) throw std::invalid_argument("rate limiter: no limits given");
  std::size_t largest = 0;
  for (const auto& l : limits_) {
    if (l.count == 0) throw std::invalid_argument("rate limiter: a limit has count 0");
    if (l.window <= Duration::zero()) {
      throw std::invalid_argument("rate limiter: a limit has a window <= 0");
    }
    largest = std::max(largest, l.count);
  }
  // Remembering `largest` grants is enough: a limit {n, w} only ever looks at the n-th
  // most recent grant, so memory stays fixed however long the agent runs.
  ring_.resize(largest);
}

SteadyTime RateLimiter::recent(std::size_t k) const {
  return ring_[(head_ + ring_.size() - k) % ring_.size()];
}

SteadyTime RateLimiter::clamp(SteadyTime now) const {
  return size_ == 0 ? now : std::max(now, recent(1));
}

SteadyTime RateLimiter::nextAllowed(SteadyTime now) const {
  SteadyTime earliest = clamp(now);
  for (const auto& l : limits_) {
    if (size_ < l.count) continue;
    // With the n-th most recent grant at t, a new grant at s keeps every half-open
    // window of length w at <= n grants exactly when s >= t + w.
    earliest = std::max(earliest, recent(l.count) + l.window);
  }
  return earliest;
}

bool RateLimiter::wouldAllow(SteadyTime now) const { return nextAllowed(now) <= clamp(now); }

bool RateLimiter::tryAcquire(SteadyTime now) {
  if (!wouldAllow(now)) return false;
  ring_[head_] = clamp(now);
  head_ = (head_ + 1) % ring_.size();
  size_ = std::min(size_ + 1, ring_.size());
  return true;
}

std::size_t RateLimiter::count(Duration window, SteadyTime now) const {
  std::size_t n = 0;
  for (std::size_t k = 1; k <= size_; ++k) {
    if (now - recent(k) >= window) break;  // grants are recorded in time order
    ++n;
  }
  return n;
}

void RateLimiter::reset() {
  head_ = 0;
  size_ = 0;
}

}  // namespace guestpulse
