#pragma once
// Writes guest attributes (instance/guest-attributes/<namespace>/<key>) as the
// AttributeWriter decides: coalesced, within GCE's limits, every HTTP status checked
// (see attribute_writer.hpp). Unsent values are persisted to `persistPath` (atomic
// replace + fsync) whenever they change, and loaded back at construction, so a restart
// during a metadata outage loses nothing. set() never blocks.

#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/metadata/metadata_client.hpp"
#include "agent/report/attribute_writer.hpp"
#include "agent/report/guest_attribute_reporter.hpp"

namespace guestpulse {

class GuestAttributeSink : public AttributeTarget {
 public:
  struct Options {
    std::string ns = "guestpulse";
    Duration disabledRecheck = std::chrono::minutes(30);
    std::string persistPath;  // "" = keep unsent values in memory only
  };
  // Called when the sink learns the feature is off (true) or on again (false).
  using DisabledCallback = std::function<void(bool disabled, const std::string& detail)>;

  GuestAttributeSink(boost::asio::any_io_executor executor, MetadataClient& client, Options options,
                     RetrySettings retry, UnitRandom random);

  void set(const std::string& key, const std::string& value) override;
  // The metadata server answers again: write what waits now instead of after the backoff.
  void retryNow() override;
  // Writes `value` again even if the server already had it (it may have lost its state),
  // after every real change.
  void refresh(const std::string& key, const std::string& value) override;
  void onDisabledChange(DisabledCallback callback) { onDisabled_ = std::move(callback); }

  // The writer loop; returns once stopAndDrain() has finished with it.
  boost::asio::awaitable<void> run();
  // Shutdown: lets the write in flight finish, then keeps writing what is queued (still
  // within the rate limits) until the queue is empty, a write fails, or `bound` passes.
  // Resumes when run() has returned. What is left stays persisted for the next start.
  boost::asio::awaitable<void> stopAndDrain(Duration bound);

  const GuestAttributeCounters& counters() const { return writer_.counters(); }
  const AttributeQueue& queue() const { return writer_.queue(); }
  bool disabled() const { return writer_.disabled(); }
  std::size_t restoredFromDisk() const { return restored_; }

 private:
  enum class Mode { Running, Draining, Stopped };
  boost::asio::awaitable<WriteOutcome> send(const std::string& key, const std::string& value);
  boost::asio::awaitable<void> sleepUntil(SteadyTime when);
  void persist();
  void load();

  MetadataClient& client_;
  Options options_;
  AttributeWriter writer_;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer finished_;  // cancelled when run() returns
  DisabledCallback onDisabled_;
  Mode mode_ = Mode::Running;
  bool runStarted_ = false;
  bool runExited_ = false;
  SteadyTime drainDeadline_ = SteadyTime::max();
  std::size_t restored_ = 0;
  std::string persisted_;  // what the file holds, to skip identical rewrites
};

}  // namespace guestpulse
