#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "agent/health/health_model.hpp"
#include "agent/report/metrics.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {

// 2026-11-22T22:00:00Z
const WallTime kNoon = WallTime{} + std::chrono::seconds(1795384800);

MetricsSnapshot fullSnapshot() {
  MetricsSnapshot s;
  s.version = "1.2.3";
  s.provider = "ec2";
  s.providerSource = "detected";
  s.started = kNoon - 1h;
  s.status = State::Failed;
  s.heartbeat = kNoon + 250ms;
  s.probes.push_back({"custom_app", std::nullopt, "", 0, 0, std::nullopt});
  s.probes.push_back({"metadata", State::Failed, "net.connection_refused", 12, 3, kNoon});
  s.probes.push_back(
      {"workload_certs", State::Ok, "workload_certs.not_configured", 2, 0, kNoon - 10min});
  s.metadata = {40, 7, 5};
  GuestAttributeMetrics ga;
  ga.counters.writes = 9;
  ga.counters.attempts = 11;
  ga.counters.failures = 2;
  ga.counters.dropped = 1;
  ga.pending = 3;
  ga.disabled = true;
  s.guestAttributes = ga;
  s.serial = SerialMetrics{6, 4, 2};
  return s;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The sample lines of a family ("name value" or "name{...} value"), in order.
std::vector<std::string> samples(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& line : lines(text))
    if (line.rfind(name + " ", 0) == 0 || line.rfind(name + "{", 0) == 0) out.push_back(line);
  return out;
}

bool has(const std::string& text, const std::string& line) {
  for (const auto& l : lines(text))
    if (l == line) return true;
  return false;
}

}  // namespace

TEST_CASE("every metric of a full snapshot is rendered with its value", "[metrics]") {
  std::string text = renderPrometheus(fullSnapshot());
  INFO(text);
  CHECK(has(text, R"(guestpulse_build_info{version="1.2.3"} 1)"));
  CHECK(has(text, R"(guestpulse_provider_info{provider="ec2",source="detected"} 1)"));
  CHECK(has(text, "guestpulse_start_time_seconds 1795381200"));
  CHECK(has(text, "guestpulse_status 2"));
  CHECK(has(text, "guestpulse_heartbeat_timestamp_seconds 1795384800.25"));
  CHECK(has(text, R"(guestpulse_probe_state{probe="custom_app"} -1)"));
  CHECK(has(text, R"(guestpulse_probe_state{probe="metadata"} 2)"));
  CHECK(has(text, R"(guestpulse_probe_state{probe="workload_certs"} 0)"));
  CHECK(has(text, R"(guestpulse_probe_runs_total{probe="metadata"} 12)"));
  CHECK(has(text, R"(guestpulse_probe_runs_total{probe="custom_app"} 0)"));
  CHECK(has(text, R"(guestpulse_probe_failures_total{probe="metadata"} 3)"));
  CHECK(has(text, R"(guestpulse_probe_last_run_timestamp_seconds{probe="metadata"} 1795384800)"));
  CHECK(has(text,
            R"(guestpulse_probe_last_run_timestamp_seconds{probe="workload_certs"} 1795384200)"));
  CHECK(has(text,
            R"(guestpulse_probe_cause_info{probe="metadata",cause="net.connection_refused"} 1)"));
  CHECK(has(
      text,
      R"(guestpulse_probe_cause_info{probe="workload_certs",cause="workload_certs.not_configured"} 1)"));
  CHECK(has(text, "guestpulse_metadata_requests_total 40"));
  CHECK(has(text, "guestpulse_metadata_retries_total 7"));
  CHECK(has(text, "guestpulse_metadata_transport_errors_total 5"));
  CHECK(has(text, "guestpulse_guest_attribute_writes_total 9"));
  CHECK(has(text, "guestpulse_guest_attribute_attempts_total 11"));
  CHECK(has(text, "guestpulse_guest_attribute_failures_total 2"));
  CHECK(has(text, "guestpulse_guest_attribute_dropped_total 1"));
  CHECK(has(text, "guestpulse_guest_attribute_pending 3"));
  CHECK(has(text, "guestpulse_guest_attributes_disabled 1"));
  CHECK(has(text, "guestpulse_serial_lines_written_total 6"));
  CHECK(has(text, "guestpulse_serial_lines_dropped_total 4"));
  CHECK(has(text, "guestpulse_serial_write_errors_total 2"));
  // A probe that never ran has no last-run time; one without a cause has no cause sample.
  CHECK(samples(text, "guestpulse_probe_last_run_timestamp_seconds").size() == 2);
  CHECK(samples(text, "guestpulse_probe_cause_info").size() == 2);
}

TEST_CASE("the exposition is well formed: HELP and TYPE once per family, before its samples",
          "[metrics]") {
  std::string text = renderPrometheus(fullSnapshot());
  INFO(text);
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');

  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")"
      R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9]+(?:\.[0-9]+)?))");
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
  std::string current;
  std::set<std::string> finished;
  for (const auto& line : lines(text)) {
    INFO(line);
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      CHECK(helped.insert(m[1]).second);
      CHECK(finished.count(m[1]) == 0);
      if (!current.empty() && current != m[1]) finished.insert(current);
      current = m[1];
    } else if (std::regex_match(line, m, type)) {
      CHECK(m[1] == current);
      CHECK(types.emplace(m[1], m[2]).second);
    } else {
      REQUIRE(std::regex_match(line, m, sample));
      CHECK(m[1] == current);  // contiguous, after its own HELP and TYPE
      CHECK(types.count(m[1]) == 1);
    }
  }
  // Counters and only counters end in _total.
  for (const auto& [name, kind] : types) {
    INFO(name);
    bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    CHECK(total == (kind == "counter"));
  }
  CHECK(types.size() == 22);
}

TEST_CASE("label values escape backslash, quote and newline, invalid UTF-8 is replaced",
          "[metrics]") {
  CHECK(escapeLabelValue("plain.cause") == "plain.cause");
  CHECK(escapeLabelValue(R"(a\b)") == R"(a\\b)");
  CHECK(escapeLabelValue(R"(say "hi")") == R"(say \"hi\")");
  CHECK(escapeLabelValue("two\nlines") == R"(two\nlines)");
  CHECK(escapeLabelValue("caf\xC3\xA9") == "caf\xC3\xA9");  // valid UTF-8 stays
  CHECK(escapeLabelValue("bad\xFFz") == "bad\xEF\xBF\xBDz");
  CHECK(escapeLabelValue("cut\xE2\x82") == "cut\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(escapeLabelValue("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  CHECK(escapeLabelValue("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate

  MetricsSnapshot s;
  s.version = "v\"1\"\\x\n";
  s.probes.push_back({"odd", State::Degraded, "c\"a\\u\nse", 1, 1, std::nullopt});
  std::string text = renderPrometheus(s);
  INFO(text);
  CHECK(has(text, R"(guestpulse_build_info{version="v\"1\"\\x\n"} 1)"));
  CHECK(has(text, R"(guestpulse_probe_cause_info{probe="odd",cause="c\"a\\u\nse"} 1)"));
}

TEST_CASE("families without samples and reporters that are off are left out", "[metrics]") {
  MetricsSnapshot s;
  s.version = "0.1.0";
  std::string text = renderPrometheus(s);
  INFO(text);
  CHECK(text.find("guestpulse_probe_") == std::string::npos);
  CHECK(text.find("guestpulse_heartbeat") == std::string::npos);
  CHECK(text.find("guestpulse_guest_attribute") == std::string::npos);
  CHECK(text.find("guestpulse_serial") == std::string::npos);
  CHECK(text.find("guestpulse_provider_info") == std::string::npos);  // no provider set
  // Always there: build info, start time, status and the metadata counters.
  CHECK(has(text, "guestpulse_status 0"));
  CHECK(has(text, "guestpulse_start_time_seconds 0"));
  CHECK(has(text, "guestpulse_metadata_requests_total 0"));
  CHECK(has(text, "# TYPE guestpulse_metadata_requests_total counter"));
  CHECK(has(text, "# TYPE guestpulse_build_info gauge"));
}

TEST_CASE("timestamps are seconds with millisecond precision", "[metrics]") {
  MetricsSnapshot s;
  s.started = WallTime{} + 1700000000s + 5ms;
  s.heartbeat = WallTime{} + 1700000000s + 120ms;
  std::string text = renderPrometheus(s);
  CHECK(has(text, "guestpulse_start_time_seconds 1700000000.005"));
  CHECK(has(text, "guestpulse_heartbeat_timestamp_seconds 1700000000.12"));
}

TEST_CASE("snapshotFrom reads the health model and the counters", "[metrics]") {
  HealthModel model;
  model.addProbe("metadata");
  model.addProbe("never_ran");
  model.addProbe("restored");
  Timestamp t0{SteadyTime{} + 100h, kNoon};
  Timestamp t1{t0.steady + 30s, t0.wall + 30s};
  model.update("metadata", ProbeResult::ok(), t0);
  model.update("metadata", ProbeResult::failed("mds.unavailable", "503", "wait"), t1);
  model.restore("restored", State::Degraded,
                ProbeResult::degraded("mds.throttled", "429", "slow down"), t0);

  MetadataCounters mds{5, 2, 1};
  MetricsSnapshot s = snapshotFrom(model, mds, GuestAttributeMetrics{{3, 4, 1, 0, 0}, 2, false},
                                   std::nullopt, kNoon - 2h, "9.9.9");
  CHECK(s.version == "9.9.9");
  CHECK(s.started == kNoon - 2h);
  CHECK(s.status == State::Failed);
  REQUIRE(s.heartbeat);
  CHECK(*s.heartbeat == t1.wall);
  REQUIRE(s.probes.size() == 3);

  CHECK(s.probes[0].name == "metadata");
  CHECK(s.probes[0].state == State::Failed);
  CHECK(s.probes[0].cause == "mds.unavailable");
  CHECK(s.probes[0].runs == 2);
  CHECK(s.probes[0].failures == 1);
  CHECK(s.probes[0].lastRun == t1.wall);

  CHECK(s.probes[1].name == "never_ran");
  CHECK_FALSE(s.probes[1].state);
  CHECK_FALSE(s.probes[1].lastRun);

  // Restored from disk: its state is known, but it has not run in this process.
  CHECK(s.probes[2].name == "restored");
  CHECK(s.probes[2].state == State::Degraded);
  CHECK(s.probes[2].cause == "mds.throttled");
  CHECK(s.probes[2].runs == 0);
  CHECK_FALSE(s.probes[2].lastRun);

  CHECK(s.metadata.requests == 5);
  CHECK(s.metadata.retries == 2);
  CHECK(s.metadata.transportErrors == 1);
  REQUIRE(s.guestAttributes);
  CHECK(s.guestAttributes->counters.writes == 3);
  CHECK(s.guestAttributes->pending == 2);
  CHECK_FALSE(s.serial);

  std::string text = renderPrometheus(s);
  INFO(text);
  CHECK(has(text, R"(guestpulse_probe_state{probe="never_ran"} -1)"));
  CHECK(has(text, R"(guestpulse_probe_state{probe="restored"} 1)"));
  CHECK(has(text, "guestpulse_heartbeat_timestamp_seconds 1795384830"));
}

TEST_CASE("snapshotFrom with no sinks leaves their families out", "[metrics]") {
  HealthModel model;
  MetricsSnapshot s =
      snapshotFrom(model, MetadataCounters{}, static_cast<const GuestAttributeSink*>(nullptr),
                   static_cast<const SerialConsoleSink*>(nullptr), kNoon, "0.1.0");
  CHECK_FALSE(s.guestAttributes);
  CHECK_FALSE(s.serial);
  CHECK_FALSE(s.heartbeat);
  CHECK(s.status == State::Ok);
}
