// Reporting that loses nothing and harms nothing, with the real binary.

#include <catch2/catch.hpp>

#include <csignal>

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include "tests/integration/harness.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;

namespace {

std::string yamlFor(const TempDir& dir, const std::string& serialDevice) {
  return "provider: gce\n"
         "metadata: { timeout: 500ms }\n"
         "retry: { initial: 100ms, max: 1s, multiplier: 2, attempts: 3 }\n"
         "probes:\n  metadata: { interval: 1s }\n"
         "report:\n  serial: { device: " +
         serialDevice +
         " }\n"
         "  state_dir: " +
         (dir / "state").string() + "\n";
}

ChildProcess startAgent(const TempDir& dir, const fake::FakeMds& mds, const std::string& tag) {
  return ChildProcess::spawn({GUESTPULSE_BINARY, "run", "-c", (dir / "g.yaml").string()},
                             {"GCE_METADATA_HOST=" + mds.endpoint()}, dir / (tag + ".out"),
                             dir / (tag + ".err"));
}

std::size_t countOf(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("kill -9 during an outage, restart: the failure record is still delivered",
          "[reporting]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  TempDir dir;
  writeFile(dir / "g.yaml", yamlFor(dir, (dir / "serial.log").string()));
  auto agent = startAgent(dir, mds, "first");
  REQUIRE(eventually([&] { return mds.guestAttributes().count("guestpulse/status") == 1; }, 10s));

  // The metadata server goes away for everything, guest attributes included.
  mds.addFault(fake::resetFault());
  REQUIRE(eventually(
      [&] { return readFile(dir / "serial.log").find("state=FAILED") != std::string::npos; }, 10s));
  REQUIRE(eventually(
      [&] {
        return readFile(dir / "state" / "guest-attributes.json").find("last-failure") !=
               std::string::npos;
      },
      5s));
  agent.killHard();  // SIGKILL: no flush, no goodbye

  auto again = startAgent(dir, mds, "second");
  std::this_thread::sleep_for(3s);  // several cycles, still in the outage
  std::string serial = readFile(dir / "serial.log");
  INFO(serial);
  CHECK(countOf(serial, "state=FAILED") == 1);           // the restart does not announce it again
  CHECK(serial.find("recovered") == std::string::npos);  // nor a false recovery
  CHECK_THAT(readFile(dir / "second.err"), Catch::Contains("restored"));

  mds.clearFaults();
  REQUIRE(
      eventually([&] { return mds.guestAttributes().count("guestpulse/last-failure") == 1; }, 15s));
  CHECK_THAT(mds.guestAttributes()["guestpulse/last-failure"], Catch::Contains("metadata net."));
  REQUIRE(eventually(
      [&] { return readFile(dir / "serial.log").find("recovered after") != std::string::npos; },
      10s));
  bool statusOk =
      eventually([&] { return mds.guestAttributes()["guestpulse/status"] == "OK"; }, 10s);
  if (!statusOk) {
    std::string log;
    for (const auto& r : mds.requests())
      log += std::to_string(r.tMs) + " " + r.method + " " + r.target + " " +
             std::to_string(r.status) + " " + r.body + "\n";
    INFO(log);
    INFO(readFile(dir / "second.err"));
    REQUIRE(statusOk);
  }
  again.signal(SIGTERM);
  CHECK(again.wait(10s) == 0);

  auto status = boost::json::parse(readFile(dir / "state" / "status.json")).as_object();
  CHECK(status["status"] == "OK");
  bool listed = false;
  for (const auto& probe : status["probes"].as_array())
    listed = listed ||
             (probe.as_object().at("name") == "metadata" && probe.as_object().at("state") == "OK");
  CHECK(listed);
}

TEST_CASE("a serial FIFO nobody reads does not delay guest attributes or the stop", "[reporting]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  TempDir dir;
  std::string fifo = (dir / "ttyS0-fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  writeFile(dir / "g.yaml", yamlFor(dir, fifo));
  auto begin = std::chrono::steady_clock::now();
  auto agent = startAgent(dir, mds, "fifo");
  REQUIRE(eventually([&] { return mds.guestAttributes().count("guestpulse/status") == 1; }, 10s));
  auto firstStatus = std::chrono::steady_clock::now() - begin;
  CHECK(firstStatus < 5s);
  // An outage and a recovery: the attributes follow although no serial line gets out.
  mds.addFault(fake::statusFault(503, "/computeMetadata/v1/instance/id"));
  REQUIRE(eventually([&] { return mds.guestAttributes()["guestpulse/status"] == "FAILED"; }, 10s));
  mds.clearFaults();
  bool recovered =
      eventually([&] { return mds.guestAttributes()["guestpulse/status"] == "OK"; }, 10s);
  if (!recovered) {
    std::string log;
    for (const auto& r : mds.requests())
      if (r.method == "PUT")
        log += std::to_string(r.tMs) + " " + r.target + " " + std::to_string(r.status) + " " +
               r.body + "\n";
    INFO(log);
    REQUIRE(recovered);
  }
  auto stopAt = std::chrono::steady_clock::now();
  agent.signal(SIGTERM);
  CHECK(agent.wait(10s) == 0);
  CHECK(std::chrono::steady_clock::now() - stopAt < 4s);
}

TEST_CASE("SIGHUP with an invalid file keeps the agent running on the old config", "[reporting]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  TempDir dir;
  writeFile(dir / "g.yaml", yamlFor(dir, (dir / "serial.log").string()));
  auto agent = startAgent(dir, mds, "reload");
  REQUIRE(eventually([&] { return mds.guestAttributes().count("guestpulse/status") == 1; }, 10s));

  writeFile(dir / "g.yaml", "probes:\n  metadata:\n    interval: soon\n");
  REQUIRE(agent.signal(SIGHUP));
  REQUIRE(eventually(
      [&] { return readFile(dir / "serial.log").find("config.invalid") != std::string::npos; },
      5s));
  CHECK_THAT(readFile(dir / "reload.err"), Catch::Contains("probes.metadata.interval"));
  // Still probing.
  auto before = mds.requests().size();
  REQUIRE(eventually([&] { return mds.requests().size() > before + 1; }, 5s));

  writeFile(dir / "g.yaml",
            yamlFor(dir, (dir / "serial.log").string()) + "log: { level: debug }\n");
  REQUIRE(agent.signal(SIGHUP));
  REQUIRE(eventually(
      [&] {
        return readFile(dir / "reload.err").find("reload: ") != std::string::npos &&
               readFile(dir / "reload.err").find("applied") != std::string::npos;
      },
      5s));
  agent.signal(SIGTERM);
  CHECK(agent.wait(10s) == 0);
}

TEST_CASE("metrics: the running agent serves its counters on /metrics", "[reporting]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  TempDir dir;
  // A port that was free a moment ago; the agent binds it itself.
  std::uint16_t port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  writeFile(dir / "g.yaml", yamlFor(dir, (dir / "serial.log").string()) +
                                "  metrics: { listen: \"127.0.0.1:" + std::to_string(port) +
                                "\" }\n");
  auto agent = startAgent(dir, mds, "metrics");
  REQUIRE(eventually([&] { return mds.guestAttributes().count("guestpulse/status") == 1; }, 10s));
  std::string body;
  REQUIRE(eventually(
      [&] {
        auto curl = ChildProcess::spawn(
            {"/usr/bin/curl", "-sf", "http://127.0.0.1:" + std::to_string(port) + "/metrics"}, {},
            dir / "metrics.txt", dir / "curl.err");
        if (curl.wait(5s) != 0) return false;
        body = readFile(dir / "metrics.txt");
        return body.find("guestpulse_probe_state{probe=\"metadata\"} 0") != std::string::npos;
      },
      10s));
  CHECK_THAT(body, Catch::Contains("guestpulse_metadata_requests_total"));
  CHECK_THAT(body, Catch::Contains("guestpulse_guest_attribute_writes_total"));
  // provider: gce in the config, so configured rather than detected.
  CHECK_THAT(body,
             Catch::Contains("guestpulse_provider_info{provider=\"gce\",source=\"configured\"} 1"));
  agent.signal(SIGTERM);
  CHECK(agent.wait(10s) == 0);
}
