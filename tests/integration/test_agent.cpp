// The agent, in process, against the fake metadata server on a loopback port 0.

#include <catch2/catch.hpp>

#include <regex>

#include "agent/report/guest_attribute_sink.hpp"
#include "tests/integration/harness.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;

namespace {

std::optional<std::string> attribute(const fake::FakeMds& mds, const std::string& key) {
  auto all = mds.guestAttributes();
  auto it = all.find("guestpulse/" + key);
  if (it == all.end()) return std::nullopt;
  return it->second;
}

std::vector<fake::RequestRecord> probeRequests(const fake::FakeMds& mds) {
  std::vector<fake::RequestRecord> out;
  for (const auto& r : mds.requests())
    if (r.target == "/computeMetadata/v1/instance/id") out.push_back(r);
  return out;
}

bool serialHas(const TempDir& dir, const std::string& text) {
  return readFile(dir / "serial.log").find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("healthy server: status OK, the probe's result and a heartbeat", "[agent]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  TempDir dir;
  RunningAgent running(fastConfig(mds, dir));

  REQUIRE(eventually(
      [&] { return attribute(mds, "status") == "OK" && attribute(mds, "heartbeat"); }, 5s));
  CHECK(attribute(mds, "probe-metadata") == "OK");
  std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  CHECK(std::regex_match(*attribute(mds, "heartbeat"), rfc3339));
  CHECK_FALSE(attribute(mds, "last-failure"));
  REQUIRE(eventually([&] { return serialHas(dir, "probe=metadata state=OK"); }, 2s));
  // Every request carried the flavor header.
  for (const auto& r : mds.requests()) CHECK(r.flavor);
  running.stop();
  CHECK(running.agent().guestAttributes()->counters().failures == 0);
}

TEST_CASE("503 three times: retries with growing gaps, then OK without a failure", "[agent]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.addFault(fake::statusFault(503, "/computeMetadata/v1/instance/id", 3));
  mds.start();
  TempDir dir;
  Config config = fastConfig(mds, dir);
  config.retry.attempts = 5;
  AgentOptions options;
  options.random = [] { return 1.0; };  // the top of every jitter window: exact ceilings
  RunningAgent running(config, options);

  REQUIRE(eventually([&] { return probeRequests(mds).size() >= 4; }, 5s));
  auto requests = probeRequests(mds);
  CHECK(requests[0].status == 503);
  CHECK(requests[1].status == 503);
  CHECK(requests[2].status == 503);
  CHECK(requests[3].status == 200);
  double gap1 = requests[1].tMs - requests[0].tMs;
  double gap2 = requests[2].tMs - requests[1].tMs;
  double gap3 = requests[3].tMs - requests[2].tMs;
  INFO("gaps: " << gap1 << " " << gap2 << " " << gap3);
  CHECK(gap1 >= 100);
  CHECK(gap2 >= 200);
  CHECK(gap3 >= 400);
  CHECK(gap1 < gap2);
  CHECK(gap2 < gap3);
  REQUIRE(eventually([&] { return attribute(mds, "status") == "OK"; }, 3s));
  CHECK_FALSE(serialHas(dir, "FAILED"));
}

TEST_CASE("server gone: FAILED line with the cause, back: OK line, last-failure kept", "[agent]") {
  auto mds = std::make_unique<fake::FakeMds>(withGuestAttributes());
  mds->start();
  std::uint16_t port = mds->port();
  TempDir dir;
  Config config = fastConfig(*mds, dir);
  RunningAgent running(config);
  REQUIRE(eventually([&] { return attribute(*mds, "status") == "OK"; }, 5s));

  auto wentAway = std::chrono::steady_clock::now();
  mds->stop();
  REQUIRE(eventually(
      [&] {
        return serialHas(dir, "ERROR probe=metadata state=FAILED cause=net.connection_refused");
      },
      10s));
  auto detected = std::chrono::steady_clock::now() - wentAway;
  // interval + timeout, plus the two backoff ceilings (100+200 ms) and 10% jitter.
  Duration bound = config.probes.metadata.interval + config.metadata.timeout + 300ms + 100ms;
  INFO("detected after " << std::chrono::duration_cast<Duration>(detected).count() << " ms");
  CHECK(detected <= bound + 500ms);  // slack for a loaded machine

  fake::Options again = withGuestAttributes();
  again.port = port;
  mds = std::make_unique<fake::FakeMds>(again);
  mds->start();
  REQUIRE(eventually(
      [&] { return serialHas(dir, "INFO probe=metadata state=OK msg=\"recovered after"); }, 15s));
  REQUIRE(eventually(
      [&] {
        return attribute(*mds, "status") == "OK" && attribute(*mds, "probe-metadata") == "OK" &&
               attribute(*mds, "last-failure");
      },
      10s));
  // The restarted server lost the heartbeat too; it is re-sent, but after the changes
  // and never from the slots GCE's per-minute budget keeps for them.
  REQUIRE(eventually([&] { return attribute(*mds, "heartbeat").has_value(); }, 65s));
  CHECK_THAT(*attribute(*mds, "last-failure"),
             Catch::Contains("metadata net.connection_refused: "));
}

TEST_CASE("guest attributes disabled (403): said once, writes stop", "[agent]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.addFault(fake::guestAttributesDisabledFault());
  mds.start();
  TempDir dir;
  RunningAgent running(fastConfig(mds, dir));
  REQUIRE(eventually([&] { return serialHas(dir, "cause=guest_attributes.disabled"); }, 5s));
  // Several probe cycles later there is still exactly one PUT.
  REQUIRE(eventually([&] { return probeRequests(mds).size() >= 3; }, 5s));
  int puts = 0;
  for (const auto& r : mds.requests()) puts += r.method == "PUT";
  CHECK(puts == 1);
  std::string serial = readFile(dir / "serial.log");
  CHECK(serial.find("guest_attributes.disabled") == serial.rfind("guest_attributes.disabled"));
}
