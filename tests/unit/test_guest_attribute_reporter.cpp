// GuestAttributeReporter: which keys are written for transitions, results, heartbeats
// and a recovery of the metadata server, recorded through a target of our own.

#include <catch2/catch.hpp>
#include <map>

#include "agent/report/guest_attribute_reporter.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {

struct Recorder : AttributeTarget {
  std::vector<std::pair<std::string, std::string>> sets, refreshes;
  int retries = 0, lost = 0;
  void set(const std::string& k, const std::string& v) override { sets.emplace_back(k, v); }
  void refresh(const std::string& k, const std::string& v) override {
    refreshes.emplace_back(k, v);
  }
  void serverReachable() override { ++retries; }
  void serverUnreachable() override { ++lost; }
  std::map<std::string, std::string> latest() const {
    std::map<std::string, std::string> m;
    for (const auto& [k, v] : sets) m[k] = v;
    return m;
  }
};

Timestamp at(int seconds) {
  return {SteadyTime(std::chrono::seconds(seconds)), WallTime(std::chrono::seconds(seconds))};
}

}  // namespace

TEST_CASE("attribute reporter: a failure and its recovery", "[report][attributes]") {
  Recorder sink;
  GuestAttributeReporter reporter(sink);
  HealthModel health;
  health.addProbe("metadata");
  health.addProbe("app");

  auto first = health.update("metadata", ProbeResult::ok(), at(0));
  REQUIRE(first);
  reporter.onTransition(*first, health);
  reporter.onResult(health, at(0));
  auto m = sink.latest();
  CHECK(m["status"] == "OK");
  CHECK(m["probe-metadata"] == "OK");
  CHECK(m["heartbeat"] == "1970-01-01T00:00:00Z");
  CHECK_FALSE(m.count("last-failure"));

  auto failed =
      health.update("app", ProbeResult::failed("custom.tcp_refused", "refused", "start it"), at(5));
  reporter.onTransition(*failed, health);
  reporter.onResult(health, at(5));  // not the first result: no second heartbeat
  m = sink.latest();
  CHECK(m["status"] == "FAILED");
  CHECK(m["probe-app"] == "FAILED custom.tcp_refused: refused");
  CHECK(m["last-failure"] == "1970-01-01T00:00:05Z app custom.tcp_refused: refused");
  CHECK(m["heartbeat"] == "1970-01-01T00:00:00Z");
  CHECK(sink.refreshes.empty());
  CHECK(sink.retries == 0);

  reporter.heartbeat(WallTime(60s));
  CHECK(sink.latest()["heartbeat"] == "1970-01-01T00:01:00Z");
}

TEST_CASE("attribute reporter: the metadata server back means the whole picture again",
          "[report][attributes]") {
  Recorder sink;
  GuestAttributeReporter reporter(sink);
  HealthModel health;
  health.addProbe("metadata");
  health.addProbe("app");
  reporter.onTransition(*health.update("app", ProbeResult::ok(), at(0)), health);
  reporter.onTransition(
      *health.update("metadata", ProbeResult::failed("mds.unavailable", "503", "wait"), at(1)),
      health);
  CHECK(sink.refreshes.empty());
  reporter.onTransition(*health.update("metadata", ProbeResult::ok(), at(30)), health);
  std::map<std::string, std::string> refreshed(sink.refreshes.begin(), sink.refreshes.end());
  CHECK(refreshed.at("status") == "OK");
  CHECK(refreshed.at("probe-metadata") == "OK");
  CHECK(refreshed.at("probe-app") == "OK");
  CHECK(refreshed.at("last-failure") == "1970-01-01T00:00:01Z metadata mds.unavailable: 503");
  CHECK(refreshed.at("heartbeat") == "1970-01-01T00:00:30Z");
  CHECK(sink.retries == 1);

  // Another probe recovering is not a reason to re-send everything.
  sink.refreshes.clear();
  reporter.onTransition(
      *health.update("app", ProbeResult::failed("custom.tcp_refused", "x", "y"), at(40)), health);
  reporter.onTransition(*health.update("app", ProbeResult::ok(), at(50)), health);
  CHECK(sink.refreshes.empty());
  CHECK(sink.retries == 1);
}

TEST_CASE("attribute reporter: probe values", "[report][attributes]") {
  CHECK(GuestAttributeReporter::probeValue(State::Ok, ProbeResult::ok("fine")) == "OK");
  CHECK(GuestAttributeReporter::probeValue(
            State::Ok, ProbeResult::info("workload_certs.not_configured", "404")) ==
        "OK workload_certs.not_configured: 404");
  CHECK(GuestAttributeReporter::probeValue(State::Degraded,
                                           ProbeResult::degraded("mds.throttled", "", "")) ==
        "DEGRADED mds.throttled");
}

TEST_CASE("attribute reporter: writes are held while the metadata probe finds the server gone",
          "[report][attributes]") {
  Recorder sink;
  GuestAttributeReporter reporter(sink);
  HealthModel health;
  health.addProbe("metadata");
  health.addProbe("app");
  auto result = [&](const std::string& probe, ProbeResult r, int s) {
    if (auto t = health.update(probe, r, at(s))) reporter.onTransition(*t, health);
    reporter.onResult(health, at(s));
  };
  result("metadata", ProbeResult::ok(), 0);
  CHECK(sink.lost == 0);
  // A cause that says nothing about writes: the server answers, only not as the probe wants.
  result("metadata", ProbeResult::failed("mds.http_error", "404", "check"), 10);
  result("metadata", ProbeResult::failed("dns.resolve_failed", "x", "y"), 20);
  CHECK(sink.lost == 0);
  // The server is gone: once, however many failing results follow.
  result("metadata", ProbeResult::failed("net.timeout", "connect timed out", "routes"), 30);
  result("metadata", ProbeResult::failed("net.timeout", "connect timed out", "routes"), 90);
  result("metadata", ProbeResult::failed("mds.unavailable", "503", "wait"), 150);
  CHECK(sink.lost == 1);
  // Another probe's failure is not the server's.
  result("app", ProbeResult::failed("custom.tcp_refused", "x", "y"), 160);
  CHECK(sink.lost == 1);
  CHECK(sink.retries == 0);
  // Still failing, but the server answers (a 404): writes may go again.
  result("metadata", ProbeResult::failed("mds.http_error", "404", "check"), 170);
  CHECK(sink.retries == 1);
  result("metadata", ProbeResult::failed("proxy.intercepted", "no flavor", "bypass"), 180);
  CHECK(sink.lost == 2);
  result("metadata", ProbeResult::ok(), 200);
  CHECK(sink.retries == 2);  // once, from the recovery
}

TEST_CASE("attribute reporter: a failure restored from the last run holds writes at once",
          "[report][attributes]") {
  Recorder sink;
  GuestAttributeReporter reporter(sink);
  HealthModel health;
  health.addProbe("metadata");
  health.update("metadata", ProbeResult::failed("net.connection_refused", "RST", "x"), at(0));
  // The first result of this run is the same failure: no transition, still held.
  auto t =
      health.update("metadata", ProbeResult::failed("net.connection_refused", "RST", "x"), at(5));
  CHECK_FALSE(t);
  reporter.onResult(health, at(5));
  CHECK(sink.lost == 1);
}

TEST_CASE("attribute reporter: which causes mean the server cannot take a write",
          "[report][attributes]") {
  for (const char* cause :
       {"net.timeout", "net.connection_refused", "net.no_route", "net.connection_reset",
        "mds.unavailable", "mds.throttled", "mds.bad_response", "proxy.intercepted"})
    CHECK(serverUnreachableCause(cause));
  for (const char* cause :
       {"dns.resolve_failed", "dns.hosts_mapping_missing", "mds.http_error", "mds.header_rejected",
        "proxy.no_proxy_missing", "workload_certs.expired", ""})
    CHECK_FALSE(serverUnreachableCause(cause));
}
