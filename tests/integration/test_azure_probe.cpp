// The Azure metadata probe against fake-mds --provider azure on loopback: the pinned
// api-version with Metadata: true, 410 retried within a run (IMDS updating) and DEGRADED
// while it lasts, and 400 and 429 named with their causes.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "agent/app/probe_factory.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/probe.hpp"
#include "tests/integration/harness.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

fake::Options azureFake() {
  fake::Options options;
  options.provider = fake::Provider::Azure;
  return options;
}

ProbeResult runOnce(const fake::FakeMds& mds, const TempDir& dir) {
  Config config = fastConfig(mds, dir);
  config.provider = Provider::Azure;
  asio::io_context io;
  BlockingPool pool(2);
  HttpClient http(io.get_executor(), pool);
  auto metadata = makeMetadataClient(config, http, makeUnitRandom(9), Provider::Azure);
  auto probes = makeProbes(config, ProbeDeps{*metadata, http, pool, nullptr, Provider::Azure});
  // Azure has no workload_certs or mds_mtls probe, whatever the config says.
  REQUIRE(probes.size() == 1);
  ProbeResult result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { result = co_await runWithDeadline(*probes.front(), {}); },
      asio::detached);
  io.run();
  return result;
}

}  // namespace

TEST_CASE("azure: GET /metadata/instance with the pinned api-version", "[azure]") {
  fake::FakeMds mds(azureFake());
  mds.start();
  TempDir dir;
  ProbeResult r = runOnce(mds, dir);
  INFO(r.cause << ": " << r.message);
  CHECK(r.state == State::Ok);
  auto requests = mds.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/metadata/instance?api-version=2021-02-01");
  CHECK(requests[0].status == 200);  // the fake answers 400 without Metadata: true
}

TEST_CASE("azure: 410 while IMDS is updated is retried, and DEGRADED while it lasts", "[azure]") {
  fake::FakeMds mds(azureFake());
  mds.start();
  TempDir dir;
  SECTION("a short spell within one run") {
    mds.addFault(fake::statusFault(410, "/metadata/instance", 2));
    ProbeResult r = runOnce(mds, dir);
    CHECK(r.state == State::Ok);
    CHECK_THAT(r.message, Catch::Contains("3 attempts"));
  }
  SECTION("a lasting one") {
    mds.addFault(fake::statusFault(410, "/metadata/instance"));
    ProbeResult r = runOnce(mds, dir);
    CHECK(r.state == State::Degraded);
    CHECK(r.cause == "azure_imds.updating");
    CHECK(mds.requests().size() == 3);  // retry.attempts
  }
}

TEST_CASE("azure: 400 and 429 name their causes", "[azure]") {
  fake::FakeMds mds(azureFake());
  mds.start();
  TempDir dir;
  SECTION("400, with the server's words") {
    mds.addFault(fake::statusFault(400, "/metadata/instance"));
    ProbeResult r = runOnce(mds, dir);
    CHECK(r.cause == "azure_imds.bad_request");
    CHECK(mds.requests().size() == 1);
  }
  SECTION("429") {
    mds.addFault(fake::statusFault(429, "/metadata/instance"));
    ProbeResult r = runOnce(mds, dir);
    CHECK(r.state == State::Degraded);
    CHECK(r.cause == "azure_imds.throttled");
  }
}
