#include "agent/report/guest_attribute_sink.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "agent/core/logging.hpp"

namespace guestpulse {

namespace asio = boost::asio;

GuestAttributeSink::GuestAttributeSink(asio::any_io_executor executor, MetadataClient& client,
                                       Options options, RetrySettings retry, UnitRandom random)
    : client_(client),
      options_(std::move(options)),
      retry_(retry),
      random_(std::move(random)),
      limiter_({{10, std::chrono::seconds(60)}, {3, std::chrono::seconds(1)}}),
      wake_(executor),
      finished_(executor) {}

void GuestAttributeSink::set(const std::string& key, const std::string& value) {
  queue_.set(key, value);
  wake_.cancel();
}

asio::awaitable<void> GuestAttributeSink::sleepUntil(SteadyTime when) {
  wake_.expires_at(when);
  co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<GuestAttributeSink::WriteOutcome> GuestAttributeSink::writeOne(
    const std::string& key, const std::string& value) {
  auto log = logger("guest-attributes");
  ++counters_.attempts;
  // One attempt per call: the sink keeps the value and schedules retries itself, so a
  // retry never bypasses the rate limiter.
  MetadataResult put =
      co_await client_.put("instance/guest-attributes/" + options_.ns + "/" + key, value, 1);
  int status = put.status();
  if (status == 200 && put.flavorOk) {
    ++counters_.writes;
    co_return WriteOutcome::Delivered;
  }
  ++counters_.failures;
  if (status == 403 && put.flavorOk) co_return WriteOutcome::Disabled;
  if (status == 0 || !put.flavorOk || isRetryable(AttemptOutcome::status(status))) {
    log->debug("PUT {} failed: {}", key, put.last().describe(client_.endpoint().display()));
    co_return WriteOutcome::Retry;
  }
  log->error("metadata server refused guest attribute {}={:?}: HTTP {}; value dropped", key,
             value, status);
  ++counters_.dropped;
  co_return WriteOutcome::Refused;
}

asio::awaitable<bool> GuestAttributeSink::step(RetryPolicy& backoff, SteadyTime& notBefore,
                                               SteadyTime until) {
  auto log = logger("guest-attributes");
  SteadyTime now = SteadyClock::now();
  if (queue_.empty()) {
    if (mode_ == Mode::Draining) co_return false;
    co_await sleepUntil(until);
    co_return true;
  }
  if (now < notBefore) {
    if (notBefore >= until) co_return false;
    co_await sleepUntil(notBefore);
    co_return true;
  }
  if (!limiter_.tryAcquire(now)) {
    ++counters_.rateLimitedWaits;
    SteadyTime allowed = limiter_.nextAllowed(now);
    if (allowed >= until) co_return false;
    co_await sleepUntil(allowed);
    co_return true;
  }
  auto [key, value] = *queue_.next();
  switch (co_await writeOne(key, value)) {
    case WriteOutcome::Delivered:
      queue_.delivered(key, value);
      backoff.reset();
      consecutiveFailures_ = 0;
      if (disabled_) {
        disabled_ = false;
        log->info("guest attributes are writable again");
        if (onDisabled_) onDisabled_(false, {});
      }
      break;
    case WriteOutcome::Refused:
      queue_.discard(key, value);
      break;
    case WriteOutcome::Disabled:
      if (!disabled_) {
        disabled_ = true;
        log->warn(
            "guest attributes are disabled on this VM (HTTP 403); not writing them. "
            "Enable with: gcloud compute instances add-metadata VM "
            "--metadata=enable-guest-attributes=TRUE. Rechecking every {}",
            formatDuration(options_.disabledRecheck));
        if (onDisabled_) onDisabled_(true, "PUT guest attribute returned HTTP 403");
      }
      notBefore = SteadyClock::now() + options_.disabledRecheck;
      if (mode_ == Mode::Draining) co_return false;
      break;
    case WriteOutcome::Retry: {
      ++consecutiveFailures_;
      // Back off between failed writes: full jitter under the cycle ceiling, never less
      // than the initial delay, so a dead server sees a trickle rather than a burst.
      Duration ceiling = cycleDelay(retry_, retry_.initial, consecutiveFailures_);
      auto jittered = Duration(static_cast<Duration::rep>(random_() * ceiling.count()));
      notBefore = SteadyClock::now() + std::max(retry_.initial, jittered);
      if (mode_ == Mode::Draining) co_return false;  // do not spend the flush bound waiting
      break;
    }
  }
  co_return true;
}

asio::awaitable<void> GuestAttributeSink::run() {
  finished_.expires_at(SteadyTime::max());
  RetryPolicy backoff(retry_, random_);
  SteadyTime notBefore = SteadyClock::now();
  while (mode_ == Mode::Running) co_await step(backoff, notBefore, SteadyTime::max());
  if (mode_ == Mode::Draining) {
    // Whatever waits when the agent stops gets one more chance now, not after backoff.
    notBefore = SteadyClock::now();
    while (SteadyClock::now() < drainDeadline_ && !disabled_ &&
           co_await step(backoff, notBefore, drainDeadline_)) {
    }
  }
  mode_ = Mode::Stopped;
  runExited_ = true;
  finished_.cancel();
}

asio::awaitable<void> GuestAttributeSink::stopAndDrain(Duration bound) {
  if (mode_ != Mode::Running) co_return;
  mode_ = Mode::Draining;
  drainDeadline_ = SteadyClock::now() + bound;
  wake_.cancel();
  if (!runExited_) co_await finished_.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace guestpulse
