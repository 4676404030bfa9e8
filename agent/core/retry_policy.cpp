#include "agent/core/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace guestpulse {

bool isRetryable(const AttemptOutcome& outcome) {
  if (outcome.transportError) return true;
  int s = outcome.httpStatus;
  return s >= 500 || s == 429 || s == 408;
}

RetryPolicy::RetryPolicy(RetrySettings settings, UnitRandom random)
    : settings_(settings), random_(std::move(random)) {}

Duration RetryPolicy::ceiling(int retryNumber) const {
  // Computed in double so a large exponent saturates at max instead of overflowing.
  double ms = static_cast<double>(settings_.initial.count()) *
              std::pow(settings_.multiplier, std::max(0, retryNumber));
  double cap = static_cast<double>(settings_.max.count());
  return Duration(static_cast<Duration::rep>(std::min(ms, cap)));
}

std::optional<Duration> RetryPolicy::onFailure(const AttemptOutcome& outcome) {
  if (!isRetryable(outcome)) return std::nullopt;
  if (retries_ + 1 >= settings_.attempts) return std::nullopt;
  Duration window = ceiling(retries_);
  ++retries_;
  double r = std::clamp(random_(), 0.0, 1.0);
  return Duration(static_cast<Duration::rep>(std::llround(r * static_cast<double>(window.count()))));
}

Duration cycleDelay(const RetrySettings& settings, Duration interval, int consecutiveFailedCycles) {
  if (consecutiveFailedCycles <= 0) return interval;
  RetryPolicy ceilingOnly(settings, [] { return 1.0; });
  return std::max(interval, ceilingOnly.ceiling(consecutiveFailedCycles));
}

}  // namespace guestpulse
