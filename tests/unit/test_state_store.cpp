#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "agent/app/state_store.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

TEST_CASE("health state survives a save and a restore", "[state]") {
  Timestamp t0{SteadyTime{} + 100h, WallTime{} + std::chrono::seconds(1795384800)};
  HealthModel before;
  before.addProbe("metadata");
  before.update("metadata", ProbeResult::ok(), t0);
  Timestamp t1{t0.steady + 30s, t0.wall + 30s};
  before.update(
      "metadata",
      ProbeResult::failed("net.timeout", "connect to 169.254.169.254:80: timeout after 2s",
                          "check DROP rules"),
      t1);
  std::string saved = healthToJson(before, t1.wall + 5min);

  HealthModel after;
  after.addProbe("metadata");
  Timestamp restart{SteadyTime{} + 5h, t1.wall + 6min};
  REQUIRE(healthFromJson(after, saved, restart) == 1);
  const ProbeHealth* h = after.probe("metadata");
  REQUIRE(h);
  CHECK(h->known);
  CHECK(h->state == State::Failed);
  CHECK(h->current.cause == "net.timeout");
  CHECK(h->since.wall == t1.wall);
  CHECK(restart.steady - h->since.steady == 6min);
  REQUIRE(after.lastFailure());
  CHECK(after.lastFailure()->toAttribute() == before.lastFailure()->toAttribute());

  // Still failing after the restart: no transition, so no false "recovered" and no
  // duplicate failure line.
  CHECK_FALSE(after.update("metadata",
                           ProbeResult::failed("net.timeout", "again", "check DROP rules"),
                           {restart.steady + 30s, restart.wall + 30s}));
  auto recovered =
      after.update("metadata", ProbeResult::ok(), {restart.steady + 60s, restart.wall + 60s});
  REQUIRE(recovered);
  CHECK(recovered->timeInPrevious == 7min);
}

TEST_CASE("unknown probes, bad files and other versions are ignored", "[state]") {
  HealthModel model;
  model.addProbe("metadata");
  Timestamp now = Timestamp::now();
  CHECK(healthFromJson(model, "not json", now) == -1);
  CHECK(healthFromJson(model, R"({"version":2,"probes":{}})", now) == -1);
  CHECK(healthFromJson(model, R"({"version":1,"probes":{"gone":{"state":"FAILED"}}})", now) == 0);
  CHECK(healthFromJson(model, R"({"version":1,"probes":{"metadata":{"state":"BROKEN"}}})", now) ==
        0);
  CHECK_FALSE(model.probe("metadata")->known);
}

TEST_CASE("times in health.json outside 1970..2199 are not believed", "[state][hostile]") {
  // Found by fuzz_json_bodies: 1794999509000 seconds, then (after a first bound at the
  // year 9999) 17949991500 seconds, the year 2538, overflowed the conversion to the
  // clock's 64-bit nanoseconds (undefined behaviour, caught by UBSan).
  HealthModel model;
  model.addProbe("metadata");
  Timestamp now = Timestamp::now();
  CHECK(healthFromJson(model,
                       R"({"version":1,"saved":1800000000,"probes":{"metadata":{"state":"FAILED",)"
                       R"("cause":"net.timeout","since":-9223372036854775807}},"last_failure":)"
                       R"({"time":1794999509000,"probe":"metadata","cause":"net.timeout",)"
                       R"("message":"m"}})",
                       now) == 1);
  const ProbeHealth* probe = model.probe("metadata");
  REQUIRE(probe);
  CHECK(probe->state == State::Failed);
  CHECK(probe->since.wall == now.wall);  // from now, not from a time that cannot be
  CHECK_FALSE(model.lastFailure());      // a failure record needs a believable time
  CHECK(healthFromJson(model,
                       R"({"version":1,"last_failure":{"time":17949991500,"probe":"metadata",)"
                       R"("cause":"net.timeout","message":"m"}})",
                       now) == 0);
  CHECK_FALSE(model.lastFailure());
  CHECK(healthFromJson(model,
                       R"({"version":1,"last_failure":{"time":1794999509,"probe":"metadata",)"
                       R"("cause":"net.timeout","message":"m"}})",
                       now) == 0);
  CHECK(model.lastFailure());
}

TEST_CASE("status.json lists every probe with its state, cause and fix", "[state]") {
  HealthModel model;
  model.addProbe("metadata");
  model.addProbe("workload_certs");
  Timestamp now{SteadyTime{} + 1h, WallTime{} + std::chrono::seconds(1795384800)};
  model.update("metadata", ProbeResult::failed("net.no_route", "no route", "ip route add"), now);
  StatusExtras extras;
  extras.version = "1.2.3";
  auto status = boost::json::parse(statusToJson(model, extras, now)).as_object();
  CHECK(status["status"] == "FAILED");
  CHECK(status["updated"] == "2026-11-22T22:00:00Z");
  auto probes = status["probes"].as_array();
  REQUIRE(probes.size() == 2);
  CHECK(probes[0].as_object()["name"] == "metadata");
  CHECK(probes[0].as_object()["cause"] == "net.no_route");
  CHECK(probes[0].as_object()["fix"] == "ip route add");
  CHECK(probes[1].as_object()["state"] == "UNKNOWN");
  CHECK(
      status["last_failure"].as_string().starts_with("2026-11-22T22:00:00Z metadata net.no_route"));
}
