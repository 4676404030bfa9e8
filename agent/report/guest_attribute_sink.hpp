#pragma once
// Writes guest attributes (instance/guest-attributes/<namespace>/<key>) as the
// AttributeWriter decides: coalesced, within GCE's limits, every HTTP status checked
// (see attribute_writer.hpp). Unsent values are persisted to `persistPath` (atomic
// replace + fsync, through the agent's StateFileWriter when given) whenever they change,
// and loaded back at construction, so a restart during a metadata outage loses nothing.
// set() never blocks.
//
// Bounds: a value longer than kMaxAttributeValue is shortened (ending in "..."). The file
// read back is at most kMaxAttributeFileBytes, and only what the agent itself writes is
// restored (isAgentAttributeKey, at most kMaxRestoredAttributes values without control
// characters); what was left out is said in one log line.
//
// Failed writes are logged once per episode: the first failure (with the reason) and the
// recovery, and a new episode within kFailureLogSpacing of the last one only when it
// ends; the counters and status.json carry every attempt.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/metadata/metadata_client.hpp"
#include "agent/report/attribute_writer.hpp"
#include "agent/report/guest_attribute_reporter.hpp"

namespace guestpulse {

class StateFileWriter;

inline constexpr std::size_t kMaxAttributeValue = 1024;
inline constexpr std::size_t kMaxAttributeFileBytes = 256 * 1024;
inline constexpr std::size_t kMaxRestoredAttributes = 64;
inline constexpr Duration kFailureLogSpacing = std::chrono::minutes(10);

// A value as it is written: control characters escaped (gcloud prints values on the
// operator's terminal) and cut to kMaxAttributeValue.
std::string guestAttributeValue(std::string_view value);

// status, heartbeat, last-failure and probe-<name> (name: 1 to 63 of a-z, 0-9, '_', '-'):
// the only keys the agent writes, and so the only ones it restores.
bool isAgentAttributeKey(std::string_view key);

// guest-attributes.json as written by persist(), read back under the bounds above: the
// values to restore, in key order, and how many entries were left out and why.
struct PersistedAttributes {
  bool readable = false;  // a JSON object (for this namespace or another)
  std::string error;      // why not
  std::vector<std::pair<std::string, std::string>> values;
  std::size_t foreign = 0, unsendable = 0, surplus = 0;
  std::size_t discarded() const { return foreign + unsendable + surplus; }
};
PersistedAttributes parsePersistedAttributes(std::string_view text, const std::string& ns);

class GuestAttributeSink : public AttributeTarget {
 public:
  struct Options {
    std::string ns = "guestpulse";
    Duration disabledRecheck = std::chrono::minutes(30);
    std::string persistPath;            // "" = keep unsent values in memory only
    StateFileWriter* writer = nullptr;  // writes persistPath off the loop; null = inline
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
  std::size_t discardedFromDisk() const { return discarded_; }

 private:
  enum class Mode { Running, Draining, Stopped };
  boost::asio::awaitable<WriteOutcome> send(const std::string& key, const std::string& value);
  boost::asio::awaitable<void> sleepUntil(SteadyTime when);
  void persist();
  void load();
  void noteOutcome(const std::string& key, const MetadataResult& put, WriteOutcome outcome);

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
  std::size_t discarded_ = 0;
  std::string persisted_;       // what the file holds, to skip identical rewrites
  bool persistWarned_ = false;  // inline persistence failed; said once until it works
  // The current episode of failed writes (see the header comment).
  bool failing_ = false;
  bool failureLogged_ = false;
  std::uint64_t episodeFailures_ = 0;
  SteadyTime episodeStart_{};
  std::optional<SteadyTime> lastFailureLog_;
};

}  // namespace guestpulse
