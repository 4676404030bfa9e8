#pragma once
// Capped exponential backoff with full jitter, shared by every call to the metadata
// server. Sans-I/O: callers ask it what to do and sleep themselves.
//
//   delay(n) = uniform(0, min(max, initial * multiplier^n))      n = retries so far
//
// Retried: 5xx, 429, 408, and transport failures (connect/read errors, timeouts).
// Never retried: 404 or any other 4xx — repeating a request the server refused only
// adds load — unless the provider documents that status as transient for the request
// (Azure IMDS answers 404 and 410 while it is being updated): the caller says so with
// AttemptOutcome::transientStatus. A call gives up after `attempts` tries in total.

#include <cstdint>
#include <optional>

#include "agent/core/duration.hpp"
#include "agent/core/random.hpp"

namespace guestpulse {

struct RetrySettings {
  Duration initial = std::chrono::seconds(1);
  Duration max = std::chrono::seconds(60);
  double multiplier = 2.0;
  int attempts = 5;
};

// How one attempt ended, as far as retrying is concerned.
struct AttemptOutcome {
  bool transportError = false;  // resolve/connect/write/read failure or timeout
  int httpStatus = 0;           // 0 when there was no HTTP response
  bool transient = false;       // the provider documents httpStatus as "retry later"
  static AttemptOutcome transport() { return {true, 0, false}; }
  static AttemptOutcome status(int code) { return {false, code, false}; }
  static AttemptOutcome transientStatus(int code) { return {false, code, true}; }
};

bool isRetryable(const AttemptOutcome& outcome);

class RetryPolicy {
 public:
  RetryPolicy(RetrySettings settings, UnitRandom random);

  // Called after a failed attempt. Returns how long to wait before the next one, or
  // nullopt when the outcome is not retryable or the attempt budget is spent.
  std::optional<Duration> onFailure(const AttemptOutcome& outcome);
  // Called after a successful attempt: the next call starts from `initial` again.
  void reset() { retries_ = 0; }

  int retries() const { return retries_; }
  // The upper bound of the jitter window for the given retry number (no randomness).
  Duration ceiling(int retryNumber) const;
  const RetrySettings& settings() const { return settings_; }

 private:
  RetrySettings settings_;
  UnitRandom random_;
  int retries_ = 0;
};

// The delay before a probe's next cycle: while it keeps failing, cycles back off too,
// max(interval, ceiling(consecutive failed cycles)), so a long outage costs about one
// request per `max` rather than one per interval. With no failures it is the interval.
Duration cycleDelay(const RetrySettings& settings, Duration interval, int consecutiveFailedCycles);

}  // namespace guestpulse
