#pragma once
// The guest-attribute writer's decisions, I/O-free: what to write next and when, given
// the coalescing queue, GCE's rate limits (10 writes a minute, 3 a second, failed
// attempts included), the backoff after failures and the "feature disabled" state.
// GuestAttributeSink drives it with real time; tests drive it with a manual clock.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "agent/core/random.hpp"
#include "agent/core/retry_policy.hpp"
#include "agent/report/attribute_queue.hpp"
#include "agent/report/rate_limiter.hpp"

namespace guestpulse {

struct GuestAttributeCounters {
  std::uint64_t writes = 0;    // successful PUTs
  std::uint64_t attempts = 0;  // PUTs sent, successful or not
  std::uint64_t failures = 0;  // attempts that did not deliver
  std::uint64_t dropped = 0;   // values refused for good (4xx other than 403), or failed
                               // kMaxValueStrikes times while others were delivered
  std::uint64_t rateLimitedWaits = 0;
};

enum class WriteOutcome {
  Delivered,  // 200 from the metadata server
  Disabled,   // 403 from the metadata server: enable-guest-attributes is off
  Retry,      // 5xx, 429, timeout, transport error, or an answer not from the server
  Refused,    // another 4xx: this value will never be accepted
};

class AttributeWriter {
 public:
  // Failed writes are at least this far apart, so they use at most half of the
  // per-minute budget.
  static constexpr Duration kMinFailureSpacing = std::chrono::seconds(12);
  // The heartbeat never takes the last slots of a minute: they are kept for state
  // changes, so a recovery shortly after a failure is reported at once.
  static constexpr std::size_t kReservedForChanges = 3;
  // A value whose write failed is parked: it goes after every other pending value, so
  // one value the server keeps failing cannot hold up the rest. A failure after which
  // another value was delivered is a strike against the value (the server works; it is
  // this value it will not take); at this many strikes the value is dropped and
  // counted. While nothing is delivered (an outage) nothing is dropped.
  static constexpr int kMaxValueStrikes = 3;

  struct Action {
    enum class Kind { Write, WaitUntil, Idle } kind = Kind::Idle;
    std::string key;
    std::string value;
    SteadyTime until{};  // for WaitUntil
  };

  AttributeWriter(RetrySettings retry, UnitRandom random, Duration disabledRecheck);

  void set(const std::string& key, const std::string& value) { queue_.set(key, value); }
  // What to do at `now`. A Write has already taken its slot from the rate limiter: the
  // caller must send it and report onOutcome().
  Action next(SteadyTime now);
  // Returns true when the outcome changed the disabled state (for a one-time notice).
  // A Retry can drop the value (counters().dropped grows): see kMaxValueStrikes.
  bool onOutcome(const std::string& key, const std::string& value, WriteOutcome outcome,
                 SteadyTime now);
  // Lets anything waiting out a backoff go now: the metadata server just answered again,
  // or the agent is stopping. The rate limits still apply. Parked values take their
  // place by priority again: failures from before say nothing about the server now.
  void skipBackoff(SteadyTime now) {
    notBefore_ = now;
    queue_.unparkAll();
  }
  // Shutting down: no change can follow, so the heartbeat needs no reserve left for one.
  void finalFlush() { finalFlush_ = true; }

  const AttributeQueue& queue() const { return queue_; }
  AttributeQueue& queue() { return queue_; }
  const GuestAttributeCounters& counters() const { return counters_; }
  bool disabled() const { return disabled_; }

 private:
  RetrySettings retry_;
  UnitRandom random_;
  Duration disabledRecheck_;
  AttributeQueue queue_;
  RateLimiter limiter_;
  GuestAttributeCounters counters_;
  SteadyTime notBefore_{};
  bool disabled_ = false;
  bool finalFlush_ = false;
  int consecutiveFailures_ = 0;
  // The values whose last write failed, by key: which value, its strikes, and how many
  // deliveries there had been at its last failure.
  struct FailingValue {
    std::string value;
    int strikes = 0;
    std::uint64_t deliveriesAtFailure = 0;
  };
  std::map<std::string, FailingValue> failing_;
  std::uint64_t deliveries_ = 0;  // every delivered write, for the strikes
};

}  // namespace guestpulse
