#include <catch2/catch.hpp>

#include "agent/report/serial_reporter.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {
struct Harness {
  std::vector<std::string> lines;
  HealthModel model;
  SerialReporter reporter{[this](std::string l) { lines.push_back(std::move(l)); }, 10min};
  Timestamp now{SteadyTime{} + 1000h, WallTime{} + std::chrono::seconds(1795384800)};

  void feed(const ProbeResult& r, Duration after) {
    now.steady += after;
    now.wall += after;
    if (auto t = model.update("metadata", r, now)) reporter.onTransition(*t);
    reporter.onResult("metadata", *model.probe("metadata"), now);
  }
};
ProbeResult missing() {
  return ProbeResult::failed("dns.hosts_mapping_missing",
                             "metadata.google.internal does not resolve",
                             "add '169.254.169.254 metadata.google.internal' to /etc/hosts");
}
}  // namespace

TEST_CASE("one line per transition in the contract's format", "[serial_reporter]") {
  Harness h;
  h.feed(ProbeResult::ok("answered"), 0s);
  h.feed(missing(), 30s);
  h.feed(missing(), 30s);
  h.feed(ProbeResult::ok("answered"), 4min + 42s);
  REQUIRE(h.lines.size() == 3);
  CHECK(h.lines[1] ==
        "guestpulse: 2026-11-22T22:00:30Z ERROR probe=metadata state=FAILED "
        "cause=dns.hosts_mapping_missing msg=\"metadata.google.internal does not resolve\" "
        "fix=\"add '169.254.169.254 metadata.google.internal' to /etc/hosts\"\n");
  CHECK(h.lines[2] ==
        "guestpulse: 2026-11-22T22:05:42Z INFO probe=metadata state=OK msg=\"recovered after "
        "5m12s\"\n");
}

TEST_CASE("a lasting failure is repeated at most every reminder period", "[serial_reporter]") {
  Harness h;
  h.feed(missing(), 0s);
  for (int i = 0; i < 60; ++i) h.feed(missing(), 30s);  // 30 minutes of failing cycles
  // The first line plus a reminder at 10, 20 and 30 minutes.
  REQUIRE(h.lines.size() == 4);
  CHECK_THAT(h.lines[1], Catch::Contains("still FAILED after 10m"));
  CHECK_THAT(h.lines[1], Catch::Contains("cause=dns.hosts_mapping_missing"));
}

TEST_CASE("a flapping probe is debounced, then summarised, then said stable", "[serial_reporter]") {
  Harness h;
  h.feed(ProbeResult::ok("answered"), 0s);
  // 100 flips, one every 6 s (10 minutes).
  for (int i = 0; i < 100; ++i) h.feed(i % 2 ? ProbeResult::ok("answered") : missing(), 6s);
  // First line, 4 transitions, the flapping notice, a summary at the 10-minute mark.
  CHECK(h.lines.size() <= 8);
  CHECK(h.reporter.transitionsSuppressed() >= 90);
  bool noticed = false;
  for (const auto& line : h.lines) noticed = noticed || line.find("flapping:") != std::string::npos;
  CHECK(noticed);
  // Stable: at most a due summary, then one closing line, then nothing while it stays OK.
  std::size_t before = h.lines.size();
  for (int i = 0; i < 40; ++i) h.feed(ProbeResult::ok("answered"), 30s);
  REQUIRE(h.lines.size() > before);
  REQUIRE(h.lines.size() <= before + 2);
  CHECK_THAT(h.lines.back(), Catch::Contains("stable again after flapping"));
  // A later real failure is a normal transition line again.
  h.feed(missing(), 30s);
  CHECK_THAT(h.lines.back(), Catch::Contains("ERROR probe=metadata state=FAILED"));
}

TEST_CASE("a series of different problems is not flapping", "[serial_reporter]") {
  Harness h;
  h.feed(ProbeResult::ok("answered"), 0s);
  const char* causes[] = {"net.connection_refused",    "net.timeout",       "net.no_route",
                          "dns.hosts_mapping_missing", "proxy.intercepted", "mds.unavailable",
                          "mds.header_rejected"};
  for (const char* cause : causes) {
    h.feed(ProbeResult::failed(cause, "m", "f"), 20s);
    h.feed(ProbeResult::ok("answered"), 20s);
  }
  // Every fault and every recovery has its own line.
  CHECK(h.lines.size() == 1 + 2 * 7);
  CHECK(h.reporter.transitionsSuppressed() == 0);
}
