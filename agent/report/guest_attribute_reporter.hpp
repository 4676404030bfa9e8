#pragma once
// Decides what goes to GCE guest attributes (namespace `guestpulse` by default), as
// SerialReporter does for the serial console; the GuestAttributeSink writes it.
//
// Keys:
//   status         OK | DEGRADED | FAILED, the worst probe state, on every transition
//   probe-<name>   `OK`, or `<STATE> <cause>: <message>`, on that probe's transitions
//   last-failure   `<RFC 3339> <probe> <cause>: <message>` when a problem begins; it stays
//   heartbeat      the time of the last completed cycle: with the first result, then on
//                  each heartbeat tick and at stop
// The probe that talks to the server the sink writes to (`serverProbe`, the metadata
// probe) also steers the sink: while its verdict says the server cannot be reached
// (serverUnreachableCause), the sink holds its writes; when it answers again, the sink
// writes what waited (status at once, the rest spread). When that probe recovers, the
// server may have lost what it held (a restarted server, a new host after migration): the
// whole picture is written again, ranked below real changes.

#include <string>
#include <string_view>

#include "agent/health/health_model.hpp"

namespace guestpulse {

// Where the values go: the GuestAttributeSink (which coalesces, rate-limits and persists
// them), or a recorder in tests.
class AttributeTarget {
 public:
  virtual ~AttributeTarget() = default;
  virtual void set(const std::string& key, const std::string& value) = 0;
  // Write again even if the server already had it, ranked below real changes.
  virtual void refresh(const std::string& key, const std::string& value) = 0;
  // The server cannot be reached: hold the writes.
  virtual void serverUnreachable() = 0;
  // The server answers again: write what waits now instead of after the backoff (status
  // first, the rest spread).
  virtual void serverReachable() = 0;
};

// A cause of the metadata probe that means the server cannot take a write now: the
// connection fails (net.*), the server answers 5xx or 429 past the retries
// (mds.unavailable, mds.throttled), or something else answers (proxy.intercepted,
// mds.bad_response). Name resolution, 4xx to the probe's own request and the other
// probes' causes say nothing about writes.
bool serverUnreachableCause(std::string_view cause);

class GuestAttributeReporter {
 public:
  GuestAttributeReporter(AttributeTarget& sink, std::string serverProbe = "metadata");

  void onTransition(const Transition& transition, const HealthModel& health);
  // Every result: the first one also brings the first heartbeat.
  void onResult(const HealthModel& health, Timestamp now);
  // The time of the last completed cycle, as the heartbeat.
  void heartbeat(WallTime lastCycle);

  // `OK`, or `<STATE> <cause>: <message>`: the value of probe-<name>.
  static std::string probeValue(State state, const ProbeResult& result);

 private:
  void publishSnapshot(const HealthModel& health, Timestamp now);

  AttributeTarget& sink_;
  std::string serverProbe_;
  bool firstResultSeen_ = false;
  bool serverDown_ = false;  // as last told to the sink
};

}  // namespace guestpulse
