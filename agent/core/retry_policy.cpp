#include "agent/core/retry_policy.hpp"

#include <algorithm>

namespace guestpulse {

bool isRetryable(const AttemptOutcome& outcome) {
  if (outcome.transportError || outcome.transient) return true;
  int s = outcome.httpStatus;
  return s >= 500 || s == 429 || s == 408;
}

RetryPolicy::RetryPolicy(RetrySettings settings, UnitRandom random)
    : settings_(settings), random_(std::move(random)) {}

Duration RetryPolicy::ceiling(int retryNumber) const {
  // Multiplied step by step in double and stopped at the cap, so a large exponent
  // saturates at max instead of overflowing (and no libm is needed for pow).
  const double cap = static_cast<double>(settings_.max.count());
  double ms = static_cast<double>(settings_.initial.count());
  for (int n = 0; n < retryNumber && ms < cap; ++n) ms *= settings_.multiplier;
  return Duration(static_cast<Duration::rep>(std::min(ms, cap)));
}

std::optional<Duration> RetryPolicy::onFailure(const AttemptOutcome& outcome) {
  if (!isRetryable(outcome)) return std::nullopt;
  if (retries_ + 1 >= settings_.attempts) return std::nullopt;
  Duration window = ceiling(retries_);
  ++retries_;
  double r = std::clamp(random_(), 0.0, 1.0);
  // r * window is never negative, so adding one half and truncating rounds to nearest.
  return Duration(static_cast<Duration::rep>(r * static_cast<double>(window.count()) + 0.5));
}

Duration cycleDelay(const RetrySettings& settings, Duration interval, int consecutiveFailedCycles) {
  if (consecutiveFailedCycles <= 0) return interval;
  RetryPolicy ceilingOnly(settings, [] { return 1.0; });
  return std::max(interval, ceilingOnly.ceiling(consecutiveFailedCycles));
}

}  // namespace guestpulse
