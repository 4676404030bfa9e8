// The EC2 metadata probe (IMDSv2) against fake-mds --provider ec2 on loopback: a token is
// taken once and reused, a token IMDS forgot is renewed once, every token and GET failure
// is named with its cause, IMDSv1 is never used as a fallback, and the running agent says
// once that guest attributes are off and puts the provider in its status file.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "agent/app/agent.hpp"
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

constexpr const char* kToken = "/latest/api/token";
constexpr const char* kInstanceId = "/latest/meta-data/instance-id";

fake::Options ec2Fake(bool v1 = false) {
  fake::Options options;
  options.provider = fake::Provider::Ec2;
  options.ec2.tokensRequired = !v1;
  return options;
}

Config ec2Config(const fake::FakeMds& mds, const TempDir& dir) {
  Config config = fastConfig(mds, dir);
  config.provider = Provider::Ec2;
  return config;
}

// Runs the metadata probe `times` times on one probe object, as the agent does; the
// first run in a row spends the retry budget, later ones too (alreadyFailing false).
std::vector<ProbeResult> runProbe(const Config& config, int times = 1) {
  asio::io_context io;
  BlockingPool pool(2);
  HttpClient http(io.get_executor(), pool);
  auto metadata = makeMetadataClient(config, http, makeUnitRandom(5), Provider::Ec2);
  auto probes = makeProbes(config, ProbeDeps{*metadata, http, pool, nullptr, Provider::Ec2});
  REQUIRE(probes.front()->name() == "metadata");
  std::vector<ProbeResult> results;
  Probe* probe = probes.front().get();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < times; ++i) results.push_back(co_await runWithDeadline(*probe, {}));
      },
      asio::detached);
  io.run();
  return results;
}

std::size_t countRequests(const fake::FakeMds& mds, const std::string& method,
                          const std::string& target) {
  std::size_t n = 0;
  for (const auto& r : mds.requests())
    if (r.method == method && r.target == target) ++n;
  return n;
}

std::string detail(const ProbeResult& r, const std::string& key) {
  for (const auto& [k, v] : r.details)
    if (k == key) return v;
  return {};
}

}  // namespace

TEST_CASE("ec2: one token for many runs, sent with every GET", "[ec2]") {
  fake::FakeMds mds(ec2Fake());
  mds.start();
  TempDir dir;
  auto results = runProbe(ec2Config(mds, dir), 3);
  for (const auto& r : results) {
    INFO(r.cause << ": " << r.message);
    CHECK(r.state == State::Ok);
  }
  CHECK(detail(results[0], "token") == "new");
  CHECK(detail(results[2], "token") == "cached");
  CHECK(countRequests(mds, "PUT", kToken) == 1);
  // IMDSv2 is required on this fake: every GET answered 200 carried the token.
  CHECK(countRequests(mds, "GET", kInstanceId) == 3);
  for (const auto& r : mds.requests()) CHECK(r.status == 200);
}

TEST_CASE("ec2: a token IMDS forgot is renewed once, and the run is OK", "[ec2]") {
  fake::FakeMds mds(ec2Fake());
  mds.start();
  TempDir dir;
  Config config = ec2Config(mds, dir);
  asio::io_context io;
  BlockingPool pool(2);
  HttpClient http(io.get_executor(), pool);
  auto metadata = makeMetadataClient(config, http, makeUnitRandom(5), Provider::Ec2);
  auto probes = makeProbes(config, ProbeDeps{*metadata, http, pool, nullptr, Provider::Ec2});
  std::vector<ProbeResult> results;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        results.push_back(co_await probes.front()->run({}));
        mds.clearEc2Tokens();  // as after an IMDS restart
        results.push_back(co_await probes.front()->run({}));
      },
      asio::detached);
  io.run();
  REQUIRE(results.size() == 2);
  CHECK(results[1].state == State::Ok);
  CHECK(detail(results[1], "token") == "new");
  CHECK(countRequests(mds, "PUT", kToken) == 2);
  std::vector<int> gets;
  for (const auto& r : mds.requests())
    if (r.target == kInstanceId) gets.push_back(r.status);
  CHECK(gets == std::vector<int>{200, 401, 200});
}

TEST_CASE("ec2: every token and GET failure names its cause", "[ec2]") {
  fake::FakeMds mds(ec2Fake());
  mds.start();
  TempDir dir;
  Config config = ec2Config(mds, dir);

  SECTION("400 to the token PUT") {
    mds.addFault(fake::statusFault(400, kToken));
    ProbeResult r = runProbe(config).front();
    CHECK(r.cause == "imds.bad_token_request");
    CHECK(countRequests(mds, "PUT", kToken) == 1);  // a 4xx is never retried
  }
  SECTION("the endpoint turned off: 403") {
    fake::Ec2Options off;
    off.endpointEnabled = false;
    mds.setEc2Options(off);
    ProbeResult r = runProbe(config).front();
    CHECK(r.cause == "imds.disabled");
    CHECK_THAT(r.fix, Catch::Contains("--http-endpoint enabled"));
  }
  SECTION("401 to a GET with a fresh token") {
    mds.addFault(fake::statusFault(401, kInstanceId));
    ProbeResult r = runProbe(config).front();
    CHECK(r.cause == "imds.token_rejected");
    CHECK(countRequests(mds, "GET", kInstanceId) == 1);
  }
  SECTION("404 on the path") {
    mds.addFault(fake::statusFault(404, kInstanceId));
    CHECK(runProbe(config).front().cause == "imds.not_found");
  }
  SECTION("429 through the retry budget") {
    mds.addFault(fake::statusFault(429, kToken));
    ProbeResult r = runProbe(config).front();
    CHECK(r.state == State::Degraded);
    CHECK(r.cause == "imds.throttled");
    CHECK(countRequests(mds, "PUT", kToken) == 3);  // retry.attempts
  }
  SECTION("503 twice, then an answer: OK after retries") {
    mds.addFault(fake::statusFault(503, kToken, 2));
    ProbeResult r = runProbe(config).front();
    CHECK(r.state == State::Ok);
    CHECK(countRequests(mds, "PUT", kToken) == 3);
  }
  SECTION("the token answer never comes while GETs are answered: the hop limit's signature") {
    mds.addFault(fake::hangFault(kToken));
    ProbeResult r = runProbe(config).front();
    INFO(r.message);
    CHECK(r.cause == "imds.hop_limit");
    CHECK_THAT(r.message, Catch::Contains("answered HTTP 401 (IMDSv2 required)"));
    CHECK_THAT(r.fix, Catch::Contains("--http-put-response-hop-limit 2"));
  }
  SECTION("connection refused") {
    mds.stop();
    CHECK(runProbe(config).front().cause == "net.connection_refused");
  }
}

TEST_CASE("ec2: IMDSv1 answering is never taken for health", "[ec2]") {
  fake::FakeMds mds(ec2Fake(true));  // HttpTokens optional: a GET without a token works
  mds.start();
  TempDir dir;
  mds.addFault(fake::hangFault(kToken));
  ProbeResult r = runProbe(ec2Config(mds, dir)).front();
  CHECK(r.state == State::Failed);
  CHECK(r.cause == "imds.hop_limit");
  CHECK_THAT(r.message, Catch::Contains("IMDSv1 is allowed here"));
  // Exactly one GET without a token, as evidence; no GET ever answered 200 counts as OK.
  CHECK(countRequests(mds, "GET", kInstanceId) == 1);
}

TEST_CASE("ec2: the agent reports without guest attributes and names its provider", "[ec2]") {
  fake::FakeMds mds(ec2Fake());
  mds.start();
  TempDir dir;
  Config config = ec2Config(mds, dir);
  AgentOptions options;
  options.provider = ProviderChoice{Provider::Ec2, "firmware: sys_vendor 'Amazon EC2'", true};
  {
    RunningAgent running(config, options);
    REQUIRE(eventually(
        [&] {
          return readFile(dir / "serial.log").find("probe=metadata state=OK") != std::string::npos;
        },
        10s));
    mds.addFault(fake::statusFault(403, kToken));
    mds.clearEc2Tokens();
    REQUIRE(eventually(
        [&] {
          return readFile(dir / "serial.log").find("cause=imds.disabled") != std::string::npos;
        },
        15s));
    running.stop();
  }
  const std::string serial = readFile(dir / "serial.log");
  INFO(serial);
  CHECK_THAT(serial, Catch::Contains("started, provider=ec2, probes=metadata"));
  CHECK_THAT(serial, Catch::Contains("guest attributes are a GCE feature: off on ec2"));
  CHECK_THAT(serial, !Catch::Contains("guest_attributes.disabled"));
  for (const auto& r : mds.requests())
    CHECK(r.target.find("guest-attributes") == std::string::npos);
  const std::string status = readFile(dir / "state" / "status.json");
  CHECK_THAT(status, Catch::Contains("\"provider\":\"ec2\""));
  CHECK_THAT(status, Catch::Contains("\"provider_reason\":\"firmware: sys_vendor 'Amazon EC2'\""));
  CHECK_THAT(status, Catch::Contains("\"enabled\":false"));
}
