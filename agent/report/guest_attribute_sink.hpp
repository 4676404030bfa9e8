#pragma once
// Writes guest attributes (instance/guest-attributes/<namespace>/<key>) from a
// write-behind AttributeQueue, within GCE's limits (at most 10 writes a minute and 3 a
// second per VM, counting failed attempts), checking every HTTP status:
//  - 200: delivered;
//  - 403 from the metadata server: the feature is off on this VM
//    (enable-guest-attributes): said once, writing stops, rechecked rarely;
//  - 5xx, 429, timeouts, transport errors: the value stays queued; the writer backs off
//    with the shared RetryPolicy and tries again;
//  - other 4xx: that value is refused for good and dropped (counted).
// All its waiting happens in one coroutine on the agent's loop; set() never blocks.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/metadata/metadata_client.hpp"
#include "agent/report/attribute_queue.hpp"
#include "agent/report/rate_limiter.hpp"

namespace guestpulse {

struct GuestAttributeCounters {
  std::uint64_t writes = 0;          // successful PUTs
  std::uint64_t attempts = 0;        // PUTs sent, successful or not
  std::uint64_t failures = 0;        // attempts that did not deliver
  std::uint64_t dropped = 0;         // values refused for good
  std::uint64_t rateLimitedWaits = 0;
};

class GuestAttributeSink {
 public:
  struct Options {
    std::string ns = "guestpulse";
    Duration disabledRecheck = std::chrono::minutes(30);
  };
  // Called when the sink learns the feature is off (true) or on again (false).
  using DisabledCallback = std::function<void(bool disabled, const std::string& detail)>;

  GuestAttributeSink(boost::asio::any_io_executor executor, MetadataClient& client, Options options,
                     RetrySettings retry, UnitRandom random);

  void set(const std::string& key, const std::string& value);
  void onDisabledChange(DisabledCallback callback) { onDisabled_ = std::move(callback); }

  // The writer loop; returns once stopAndDrain() has finished with it.
  boost::asio::awaitable<void> run();
  // Shutdown: lets the write in flight finish, then keeps writing what is queued, still
  // within the rate limits, until the queue is empty, the server fails, or `bound`
  // passes. Resumes when run() has returned.
  boost::asio::awaitable<void> stopAndDrain(Duration bound);

  const GuestAttributeCounters& counters() const { return counters_; }
  const AttributeQueue& queue() const { return queue_; }
  bool disabled() const { return disabled_; }

 private:
  enum class WriteOutcome { Delivered, Disabled, Retry, Refused };
  boost::asio::awaitable<WriteOutcome> writeOne(const std::string& key, const std::string& value);
  enum class Mode { Running, Draining, Stopped };
  // Sleeps until `when`, a set() or a mode change.
  boost::asio::awaitable<void> sleepUntil(SteadyTime when);
  // One step of the writer; false when there is nothing it may do before `until`.
  boost::asio::awaitable<bool> step(RetryPolicy& backoff, SteadyTime& notBefore, SteadyTime until);

  MetadataClient& client_;
  Options options_;
  RetrySettings retry_;
  UnitRandom random_;
  AttributeQueue queue_;
  RateLimiter limiter_;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer finished_;  // cancelled when run() returns
  GuestAttributeCounters counters_;
  DisabledCallback onDisabled_;
  bool disabled_ = false;
  Mode mode_ = Mode::Running;
  bool runExited_ = false;
  SteadyTime drainDeadline_{};
  int consecutiveFailures_ = 0;
};

}  // namespace guestpulse
