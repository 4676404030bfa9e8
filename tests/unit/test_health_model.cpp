#include <catch2/catch.hpp>

#include "agent/health/health_model.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {
// A manual clock: both time lines advance together.
struct ManualClock {
  Timestamp now{SteadyTime{} + 1000h, WallTime{} + std::chrono::hours(24 * 365 * 56)};
  Timestamp advance(Duration d) {
    now.steady += d;
    now.wall += d;
    return now;
  }
};
ProbeResult refused() {
  return ProbeResult::failed("net.connection_refused", "connect refused", "remove the REJECT rule");
}
}  // namespace

TEST_CASE("first result is a transition from unknown", "[health]") {
  HealthModel model;
  ManualClock clock;
  model.addProbe("metadata");
  auto t = model.update("metadata", ProbeResult::ok(), clock.now);
  REQUIRE(t);
  CHECK_FALSE(t->from);
  CHECK(t->to == State::Ok);
  CHECK_FALSE(model.update("metadata", ProbeResult::ok(), clock.advance(30s)));
  CHECK(model.overall() == State::Ok);
}

TEST_CASE("failure and recovery with time in state", "[health]") {
  HealthModel model;
  ManualClock clock;
  model.update("metadata", ProbeResult::ok(), clock.now);
  auto down = model.update("metadata", refused(), clock.advance(30s));
  REQUIRE(down);
  CHECK(*down->from == State::Ok);
  CHECK(down->to == State::Failed);
  CHECK(down->timeInPrevious == 30s);
  CHECK(model.overall() == State::Failed);
  REQUIRE(model.lastFailure());
  CHECK(model.lastFailure()->cause == "net.connection_refused");

  // Repeated failures with the same cause are not news.
  CHECK_FALSE(model.update("metadata", refused(), clock.advance(30s)));
  CHECK_FALSE(model.update("metadata", refused(), clock.advance(4min + 42s)));

  auto up = model.update("metadata", ProbeResult::ok(), clock.advance(30s));
  REQUIRE(up);
  CHECK(*up->from == State::Failed);
  CHECK(up->timeInPrevious == 5min + 42s);
  CHECK(model.overall() == State::Ok);
  // last-failure survives recovery.
  REQUIRE(model.lastFailure());
  CHECK(model.lastFailure()->probe == "metadata");
}

TEST_CASE("a different cause while failing is a transition", "[health]") {
  HealthModel model;
  ManualClock clock;
  model.update("metadata", refused(), clock.now);
  auto t = model.update("metadata",
                        ProbeResult::failed("net.timeout", "connect timed out", "check DROP rules"),
                        clock.advance(30s));
  REQUIRE(t);
  CHECK(t->causeChanged);
  CHECK(model.lastFailure()->cause == "net.timeout");
}

TEST_CASE("thresholds debounce a flapping probe", "[health]") {
  HealthModel model({/*failuresToChange=*/2, /*successesToRecover=*/3});
  ManualClock clock;
  model.update("p", ProbeResult::ok(), clock.now);
  CHECK_FALSE(model.update("p", refused(), clock.advance(1s)));
  CHECK_FALSE(model.update("p", ProbeResult::ok(), clock.advance(1s)));  // streak broken
  CHECK_FALSE(model.update("p", refused(), clock.advance(1s)));
  REQUIRE(model.update("p", refused(), clock.advance(1s)));  // two in a row
  CHECK_FALSE(model.update("p", ProbeResult::ok(), clock.advance(1s)));
  CHECK_FALSE(model.update("p", ProbeResult::ok(), clock.advance(1s)));
  auto up = model.update("p", ProbeResult::ok(), clock.advance(1s));
  REQUIRE(up);
  CHECK(up->to == State::Ok);
}

TEST_CASE("overall is the worst known state, informational causes stay OK", "[health]") {
  HealthModel model;
  ManualClock clock;
  model.addProbe("a");
  model.addProbe("b");
  CHECK(model.overall() == State::Ok);
  model.update("a", ProbeResult::info("workload_certs.not_configured", "404"), clock.now);
  CHECK(model.overall() == State::Ok);
  CHECK_FALSE(model.lastFailure());
  model.update("b", ProbeResult::degraded("mds.throttled", "429", "slow down"), clock.now);
  CHECK(model.overall() == State::Degraded);
  model.update("a", refused(), clock.advance(1s));
  CHECK(model.overall() == State::Failed);
}

TEST_CASE("last-failure text has the contract's shape", "[health]") {
  FailureRecord record{WallTime{} + std::chrono::seconds(1795384800), "metadata", "net.timeout",
                       "connect to 169.254.169.254:80: timeout after 2s"};
  CHECK(
      record.toAttribute() ==
      "2026-11-22T22:00:00Z metadata net.timeout: connect to 169.254.169.254:80: timeout after 2s");
}

TEST_CASE("health: the STATUS= summary names the worst probe and its cause", "[health]") {
  HealthModel model;
  model.addProbe("app");
  model.addProbe("metadata");
  CHECK(statusSummary(model) == "OK");
  Timestamp t{};
  model.update("app", ProbeResult::degraded("custom.tcp_timeout", "slow", "fix"), t);
  CHECK(statusSummary(model) == "DEGRADED: app custom.tcp_timeout");
  model.update("metadata", ProbeResult::failed("net.connection_refused", "refused", "fix"), t);
  CHECK(statusSummary(model) == "FAILED: metadata net.connection_refused");
  model.update("metadata", ProbeResult::ok(), t);
  model.update("app", ProbeResult::ok(), t);
  CHECK(statusSummary(model) == "OK");
}
