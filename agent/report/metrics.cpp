#include "agent/report/metrics.hpp"

#include <algorithm>
#include <initializer_list>

#include "agent/health/health_model.hpp"
#include "agent/report/guest_attribute_sink.hpp"
#include "agent/report/serial_sink.hpp"

namespace guestpulse {

namespace {

struct Family {
  std::string_view name;
  std::string_view type;  // "gauge" or "counter"
  std::string_view help;
};

struct Label {
  std::string_view name;
  std::string_view value;
};

// Writes families in the order given. A family's HELP and TYPE lines go out with its
// first sample, so a family without samples (no probes, no current cause) is left out
// entirely rather than announced empty.
class ExpositionWriter {
 public:
  void sample(const Family& family, std::string_view value,
              std::initializer_list<Label> labels = {}) {
    if (family.name != current_) {
      current_ = family.name;
      out_ += "# HELP ";
      out_ += family.name;
      out_ += ' ';
      appendHelp(family.help);
      out_ += "\n# TYPE ";
      out_ += family.name;
      out_ += ' ';
      out_ += family.type;
      out_ += '\n';
    }
    out_ += family.name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const Label& label : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label.name;
        out_ += "=\"";
        out_ += escapeLabelValue(label.value);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  std::string take() { return std::move(out_); }

 private:
  // HELP text escapes only backslash and newline.
  void appendHelp(std::string_view help) {
    for (char c : help) {
      if (c == '\\')
        out_ += "\\\\";
      else if (c == '\n')
        out_ += "\\n";
      else
        out_ += c;
    }
  }

  std::string out_;
  std::string_view current_;
};

std::string number(std::uint64_t value) { return std::to_string(value); }
std::string number(int value) { return std::to_string(value); }

// Seconds since the epoch with millisecond precision, without a float round trip:
// "1763848800" or "1763848800.125".
std::string seconds(WallTime time) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  ms = std::max<decltype(ms)>(ms, 0);
  std::string text = std::to_string(ms / 1000);
  if (auto fraction = ms % 1000; fraction != 0) {
    std::string digits = std::to_string(fraction);
    text += '.' + std::string(3 - digits.size(), '0') + digits;
    while (text.back() == '0') text.pop_back();
  }
  return text;
}

int stateValue(const std::optional<State>& state) { return state ? static_cast<int>(*state) : -1; }

// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not one.
std::size_t utf8SequenceLength(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return length;
}

}  // namespace

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size();) {
    char c = value[i];
    std::size_t length = utf8SequenceLength(value, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
      continue;
    }
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.append(value.substr(i, length));
    i += length;
  }
  return out;
}

MetricsSnapshot snapshotFrom(const HealthModel& health, const MetadataCounters& metadata,
                             std::optional<GuestAttributeMetrics> guestAttributes,
                             std::optional<SerialMetrics> serial, WallTime started,
                             std::string version) {
  MetricsSnapshot snapshot;
  snapshot.version = std::move(version);
  snapshot.started = started;
  snapshot.status = health.overall();
  for (const auto& [name, probe] : health.probes()) {
    ProbeMetrics metrics;
    metrics.name = name;
    if (probe.known) {
      metrics.state = probe.state;
      metrics.cause = probe.current.cause;
    }
    metrics.runs = probe.runs;
    metrics.failures = probe.failures;
    // A state restored from disk is known but has not run in this process: its
    // lastUpdate is not a time it ran.
    if (probe.runs > 0) {
      metrics.lastRun = probe.lastUpdate.wall;
      if (!snapshot.heartbeat || *snapshot.heartbeat < probe.lastUpdate.wall)
        snapshot.heartbeat = probe.lastUpdate.wall;
    }
    snapshot.probes.push_back(std::move(metrics));
  }
  snapshot.metadata = metadata;
  snapshot.guestAttributes = std::move(guestAttributes);
  snapshot.serial = serial;
  return snapshot;
}

MetricsSnapshot snapshotFrom(const HealthModel& health, const MetadataCounters& metadata,
                             const GuestAttributeSink* guestAttributes,
                             const SerialConsoleSink* serial, WallTime started,
                             std::string version) {
  std::optional<GuestAttributeMetrics> attributeMetrics;
  if (guestAttributes) {
    attributeMetrics = GuestAttributeMetrics{
        guestAttributes->counters(), guestAttributes->queue().size(), guestAttributes->disabled()};
  }
  std::optional<SerialMetrics> serialMetrics;
  if (serial)
    serialMetrics = SerialMetrics{serial->written(), serial->dropped(), serial->writeErrors()};
  return snapshotFrom(health, metadata, std::move(attributeMetrics), serialMetrics, started,
                      std::move(version));
}

std::string renderPrometheus(const MetricsSnapshot& s) {
  static constexpr Family kBuildInfo{"guestpulse_build_info", "gauge",
                                     "guestpulse build information; always 1"};
  static constexpr Family kProviderInfo{"guestpulse_provider_info", "gauge",
                                        "The cloud provider the agent runs as; always 1"};
  static constexpr Family kStartTime{"guestpulse_start_time_seconds", "gauge",
                                     "Time the agent started, in seconds since the Unix epoch"};
  static constexpr Family kStatus{"guestpulse_status", "gauge",
                                  "Worst probe state: 0 OK, 1 DEGRADED, 2 FAILED"};
  static constexpr Family kHeartbeat{"guestpulse_heartbeat_timestamp_seconds", "gauge",
                                     "Time of the last completed probe cycle, in seconds since "
                                     "the Unix epoch"};
  static constexpr Family kProbeState{"guestpulse_probe_state", "gauge",
                                      "Probe state: 0 OK, 1 DEGRADED, 2 FAILED, -1 no result yet"};
  static constexpr Family kProbeRuns{"guestpulse_probe_runs_total", "counter",
                                     "Probe runs since the agent started"};
  static constexpr Family kProbeFailures{"guestpulse_probe_failures_total", "counter",
                                         "Probe runs with a DEGRADED or FAILED result"};
  static constexpr Family kProbeLastRun{"guestpulse_probe_last_run_timestamp_seconds", "gauge",
                                        "Time of the probe's latest result, in seconds since the "
                                        "Unix epoch"};
  static constexpr Family kProbeCause{"guestpulse_probe_cause_info", "gauge",
                                      "The probe's current cause code; 1 for the current cause"};
  static constexpr Family kMdsRequests{"guestpulse_metadata_requests_total", "counter",
                                       "HTTP requests sent to the metadata server"};
  static constexpr Family kMdsRetries{"guestpulse_metadata_retries_total", "counter",
                                      "Metadata requests that were retries"};
  static constexpr Family kMdsTransport{"guestpulse_metadata_transport_errors_total", "counter",
                                        "Metadata requests that got no HTTP answer (resolve, "
                                        "connect, read errors and timeouts)"};
  static constexpr Family kGaWrites{"guestpulse_guest_attribute_writes_total", "counter",
                                    "Guest attribute PUTs the metadata server accepted"};
  static constexpr Family kGaAttempts{"guestpulse_guest_attribute_attempts_total", "counter",
                                      "Guest attribute PUTs sent, successful or not"};
  static constexpr Family kGaFailures{"guestpulse_guest_attribute_failures_total", "counter",
                                      "Guest attribute PUTs that did not deliver the value"};
  static constexpr Family kGaDropped{
      "guestpulse_guest_attribute_dropped_total", "counter",
      "Guest attribute values refused for good (4xx other than 403)"};
  static constexpr Family kGaPending{"guestpulse_guest_attribute_pending", "gauge",
                                     "Guest attribute values waiting to be written"};
  static constexpr Family kGaDisabled{"guestpulse_guest_attributes_disabled", "gauge",
                                      "1 when the metadata server refuses guest attributes (403: "
                                      "enable-guest-attributes is off), else 0"};
  static constexpr Family kSerialWritten{"guestpulse_serial_lines_written_total", "counter",
                                         "Lines written to the serial console"};
  static constexpr Family kSerialDropped{"guestpulse_serial_lines_dropped_total", "counter",
                                         "Serial console lines dropped because the queue was full"};
  static constexpr Family kSerialErrors{"guestpulse_serial_write_errors_total", "counter",
                                        "Serial console write attempts that failed or timed out"};

  ExpositionWriter w;
  w.sample(kBuildInfo, "1", {{"version", s.version}});
  if (!s.provider.empty())
    w.sample(kProviderInfo, "1", {{"provider", s.provider}, {"source", s.providerSource}});
  w.sample(kStartTime, seconds(s.started));
  w.sample(kStatus, number(static_cast<int>(s.status)));
  if (s.heartbeat) w.sample(kHeartbeat, seconds(*s.heartbeat));

  for (const auto& p : s.probes)
    w.sample(kProbeState, number(stateValue(p.state)), {{"probe", p.name}});
  for (const auto& p : s.probes) w.sample(kProbeRuns, number(p.runs), {{"probe", p.name}});
  for (const auto& p : s.probes) w.sample(kProbeFailures, number(p.failures), {{"probe", p.name}});
  for (const auto& p : s.probes)
    if (p.lastRun) w.sample(kProbeLastRun, seconds(*p.lastRun), {{"probe", p.name}});
  for (const auto& p : s.probes)
    if (!p.cause.empty()) w.sample(kProbeCause, "1", {{"probe", p.name}, {"cause", p.cause}});

  w.sample(kMdsRequests, number(s.metadata.requests));
  w.sample(kMdsRetries, number(s.metadata.retries));
  w.sample(kMdsTransport, number(s.metadata.transportErrors));

  if (const auto& ga = s.guestAttributes) {
    w.sample(kGaWrites, number(ga->counters.writes));
    w.sample(kGaAttempts, number(ga->counters.attempts));
    w.sample(kGaFailures, number(ga->counters.failures));
    w.sample(kGaDropped, number(ga->counters.dropped));
    w.sample(kGaPending, number(static_cast<std::uint64_t>(ga->pending)));
    w.sample(kGaDisabled, ga->disabled ? "1" : "0");
  }
  if (const auto& serial = s.serial) {
    w.sample(kSerialWritten, number(serial->written));
    w.sample(kSerialDropped, number(serial->dropped));
    w.sample(kSerialErrors, number(serial->writeErrors));
  }
  return w.take();
}

}  // namespace guestpulse
