#include "agent/report/attribute_writer.hpp"

#include <algorithm>

namespace guestpulse {

AttributeWriter::AttributeWriter(RetrySettings retry, UnitRandom random, Duration disabledRecheck)
    : retry_(retry),
      random_(std::move(random)),
      disabledRecheck_(disabledRecheck),
      limiter_({{10, std::chrono::seconds(60)}, {3, std::chrono::seconds(1)}}) {}

AttributeWriter::Action AttributeWriter::next(SteadyTime now) {
  Action action;
  if (queue_.empty()) return action;  // Idle until set()
  if (now < notBefore_) {
    action.kind = Action::Kind::WaitUntil;
    action.until = notBefore_;
    return action;
  }
  if (!finalFlush_ && queue_.next()->first == "heartbeat" &&
      limiter_.count(std::chrono::seconds(60), now) + kReservedForChanges >= 10) {
    action.kind = Action::Kind::WaitUntil;
    action.until = now + std::chrono::seconds(1);  // or sooner, when a change is set()
    return action;
  }
  if (!limiter_.tryAcquire(now)) {
    ++counters_.rateLimitedWaits;
    action.kind = Action::Kind::WaitUntil;
    action.until = limiter_.nextAllowed(now);
    return action;
  }
  auto [key, value] = *queue_.next();
  ++counters_.attempts;
  action.kind = Action::Kind::Write;
  action.key = std::move(key);
  action.value = std::move(value);
  return action;
}

bool AttributeWriter::onOutcome(const std::string& key, const std::string& value,
                                WriteOutcome outcome, SteadyTime now) {
  bool wasDisabled = disabled_;
  switch (outcome) {
    case WriteOutcome::Delivered:
      ++counters_.writes;
      ++deliveries_;
      queue_.delivered(key, value);
      failing_.erase(key);
      consecutiveFailures_ = 0;
      disabled_ = false;
      break;
    case WriteOutcome::Refused:
      ++counters_.failures;
      ++counters_.dropped;
      queue_.discard(key, value);
      failing_.erase(key);
      break;
    case WriteOutcome::Disabled:
      ++counters_.failures;
      disabled_ = true;
      notBefore_ = now + disabledRecheck_;
      break;
    case WriteOutcome::Retry: {
      ++counters_.failures;
      ++consecutiveFailures_;
      // Full jitter under the cycle ceiling, but never sooner than kMinFailureSpacing:
      // failed attempts count against GCE's 10-a-minute limit too, and must leave room
      // for the updates that report the recovery.
      Duration ceiling = cycleDelay(retry_, retry_.initial, consecutiveFailures_);
      auto jittered = Duration(static_cast<Duration::rep>(random_() * ceiling.count()));
      notBefore_ = now + std::max({kMinFailureSpacing, retry_.initial, jittered});
      auto [it, first] = failing_.try_emplace(key);
      FailingValue& failing = it->second;
      if (first || failing.value != value) {
        failing = FailingValue{value, 0, deliveries_};
      } else if (deliveries_ > failing.deliveriesAtFailure) {
        ++failing.strikes;  // the server took another value since this one last failed
        failing.deliveriesAtFailure = deliveries_;
      }
      if (failing.strikes >= kMaxValueStrikes) {
        ++counters_.dropped;
        queue_.discard(key, value);
        failing_.erase(it);
      } else {
        queue_.park(key);
      }
      break;
    }
  }
  return wasDisabled != disabled_;
}

}  // namespace guestpulse
