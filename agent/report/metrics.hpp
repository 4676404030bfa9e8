#pragma once
// The agent's Prometheus metrics, I/O-free: a plain snapshot of what the agent counts and
// its rendering in the Prometheus text exposition format 0.0.4. MetricsServer serves the
// rendered text on GET /metrics; tests build snapshots by hand.
//
// The metric names and labels are a contract (README, "Metrics"); change them only
// deliberately. Every family has `# HELP` and `# TYPE`; counters end in `_total`;
// timestamps are gauges in seconds since the Unix epoch, with millisecond precision.
//
//   guestpulse_build_info{version}                           gauge, always 1
//   guestpulse_provider_info{provider,source}                gauge, always 1: the cloud the
//                                                            agent runs as (gce, ec2, azure),
//                                                            source detected or configured
//   guestpulse_start_time_seconds                            gauge
//   guestpulse_status                                        gauge: 0 OK, 1 DEGRADED, 2 FAILED
//   guestpulse_heartbeat_timestamp_seconds                   gauge: last completed probe cycle
//                                                            (absent before the first one)
//   guestpulse_probe_state{probe}                            gauge: 0/1/2, -1 no result yet
//   guestpulse_probe_runs_total{probe}                       counter, since the agent started
//   guestpulse_probe_failures_total{probe}                   counter: non-OK results
//   guestpulse_probe_last_run_timestamp_seconds{probe}       gauge (absent before a first run)
//   guestpulse_probe_cause_info{probe,cause}                 gauge 1 for the current cause;
//                                                            no sample while the cause is empty
//   guestpulse_metadata_requests_total                       counter
//   guestpulse_metadata_retries_total                        counter
//   guestpulse_metadata_transport_errors_total               counter
//   guestpulse_guest_attribute_writes_total                  counter: successful PUTs
//   guestpulse_guest_attribute_attempts_total                counter: PUTs sent
//   guestpulse_guest_attribute_failures_total                counter: attempts not delivered
//   guestpulse_guest_attribute_dropped_total                 counter: values refused for good
//   guestpulse_guest_attribute_pending                       gauge: values waiting
//   guestpulse_guest_attributes_disabled                     gauge: 1 after a 403, else 0
//   guestpulse_serial_lines_written_total                    counter
//   guestpulse_serial_lines_dropped_total                    counter: queue full, oldest dropped
//   guestpulse_serial_write_errors_total                     counter
//
// The guest_attribute families are present only when report.guest_attributes is enabled,
// the serial ones only when report.serial is enabled.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/duration.hpp"
#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/report/attribute_writer.hpp"

namespace guestpulse {

class HealthModel;
class GuestAttributeSink;
class SerialConsoleSink;

struct ProbeMetrics {
  std::string name;
  std::optional<State> state;  // nullopt until the probe has a result (or a restored one)
  std::string cause;           // the current cause; empty for a plain OK
  std::uint64_t runs = 0;
  std::uint64_t failures = 0;
  std::optional<WallTime> lastRun;  // nullopt until the probe ran in this process
};

struct GuestAttributeMetrics {
  GuestAttributeCounters counters;
  std::size_t pending = 0;  // values waiting to be written
  bool disabled = false;    // the metadata server answered 403: the feature is off
};

struct SerialMetrics {
  std::uint64_t written = 0;
  std::uint64_t dropped = 0;
  std::uint64_t writeErrors = 0;
};

struct MetricsSnapshot {
  std::string version;
  std::string provider;        // "gce", "ec2", "azure"; empty: no provider_info sample
  std::string providerSource;  // "detected" (provider: auto) or "configured"
  WallTime started{};
  State status = State::Ok;
  std::optional<WallTime> heartbeat;  // the last completed probe cycle
  std::vector<ProbeMetrics> probes;   // rendered in this order
  MetadataCounters metadata;
  std::optional<GuestAttributeMetrics> guestAttributes;  // nullopt: reporter off
  std::optional<SerialMetrics> serial;                   // nullopt: reporter off
};

// The snapshot of a running agent. Probes come in name order; the heartbeat is the latest
// probe run. Reads only; call it on the loop thread (the model is not thread-safe).
MetricsSnapshot snapshotFrom(const HealthModel& health, const MetadataCounters& metadata,
                             std::optional<GuestAttributeMetrics> guestAttributes,
                             std::optional<SerialMetrics> serial, WallTime started,
                             std::string version);
// The same, reading the sinks; nullptr means that reporter is off.
MetricsSnapshot snapshotFrom(const HealthModel& health, const MetadataCounters& metadata,
                             const GuestAttributeSink* guestAttributes,
                             const SerialConsoleSink* serial, WallTime started,
                             std::string version);

// The Prometheus text exposition format 0.0.4, ending in a newline.
std::string renderPrometheus(const MetricsSnapshot& snapshot);

// Label value escaping per the text format: `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
// Bytes that are not valid UTF-8 become U+FFFD, as the format requires UTF-8.
std::string escapeLabelValue(std::string_view value);

// The Content-Type of renderPrometheus()'s output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace guestpulse
