// The real binary: `check` exit codes and JSON, `config validate`, SIGTERM.

#include <catch2/catch.hpp>

#include <csignal>

#include <boost/json.hpp>

#include "tests/integration/harness.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;

namespace {

// provider: gce, so that the machine's own firmware (and provider: auto) never decides.
std::string fastYaml(const TempDir& dir) {
  return "provider: gce\n"
         "metadata: { timeout: 500ms }\n"
         "retry: { initial: 100ms, max: 1s, multiplier: 2, attempts: 3 }\n"
         "probes:\n  metadata: { interval: 1s }\n"
         "report:\n  serial: { device: " +
         (dir / "serial.log").string() +
         " }\n"
         "  state_dir: " +
         (dir / "state").string() + "\n";
}

}  // namespace

TEST_CASE("check --json: OK, FAILED and DEGRADED with exit codes 0, 2, 1", "[cli]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  TempDir dir;
  writeFile(dir / "g.yaml", fastYaml(dir));
  std::vector<std::string> env{"GCE_METADATA_HOST=" + mds.endpoint()};

  Ran ok = runBinary(dir, {"check", "-c", (dir / "g.yaml").string(), "--json"}, env);
  CHECK(ok.exitCode == 0);
  auto json = boost::json::parse(ok.out).as_object();
  CHECK(json["status"] == "OK");
  CHECK(json["probes"].as_array()[0].as_object()["name"] == "metadata");

  mds.addFault(fake::statusFault(503, "/computeMetadata/v1/instance/id"));
  Ran failed = runBinary(dir, {"check", "-c", (dir / "g.yaml").string(), "--json"}, env);
  CHECK(failed.exitCode == 2);
  auto probe = boost::json::parse(failed.out).as_object()["probes"].as_array()[0].as_object();
  CHECK(probe["state"] == "FAILED");
  CHECK(probe["cause"] == "mds.unavailable");
  CHECK_FALSE(probe["fix"].as_string().empty());

  mds.clearFaults();
  mds.addFault(fake::statusFault(429, "/computeMetadata/v1/instance/id"));
  Ran degraded = runBinary(dir, {"check", "-c", (dir / "g.yaml").string()}, env);
  CHECK(degraded.exitCode == 1);
  CHECK_THAT(degraded.out, Catch::Contains("mds.throttled"));
  CHECK_THAT(degraded.out, Catch::Contains("fix:"));

  // check never writes guest attributes.
  for (const auto& r : mds.requests()) CHECK(r.method == "GET");
}

TEST_CASE("config validate names every problem with its line, exit 3", "[cli]") {
  TempDir dir;
  writeFile(dir / "bad.yaml",
            "probes:\n  metadata:\n    interval: 30\n    intervall: 5s\nlog: { level: loud }\n");
  Ran bad = runBinary(dir, {"config", "validate", "-c", (dir / "bad.yaml").string()});
  CHECK(bad.exitCode == 3);
  CHECK_THAT(bad.err, Catch::Contains("line 3"));
  CHECK_THAT(bad.err, Catch::Contains("probes.metadata.interval"));
  CHECK_THAT(bad.err, Catch::Contains("intervall"));
  CHECK_THAT(bad.err, Catch::Contains("log.level"));

  writeFile(dir / "good.yaml", fastYaml(dir));
  CHECK(runBinary(dir, {"config", "validate", "-c", (dir / "good.yaml").string()}).exitCode == 0);
  CHECK(runBinary(dir, {"config", "validate", "-c", (dir / "missing.yaml").string()}).exitCode ==
        3);
  CHECK(runBinary(dir, {"run", "-c", (dir / "bad.yaml").string()}).exitCode == 3);
  CHECK(runBinary(dir, {"no-such-command"}).exitCode == 3);
  Ran version = runBinary(dir, {"version"});
  CHECK(version.exitCode == 0);
  CHECK_THAT(version.out, Catch::StartsWith("guestpulse "));
}

TEST_CASE("run: SIGTERM stops gracefully with exit 0 within the flush bound", "[cli]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  TempDir dir;
  writeFile(dir / "g.yaml", fastYaml(dir));
  auto child = ChildProcess::spawn({GUESTPULSE_BINARY, "run", "-c", (dir / "g.yaml").string()},
                                   {"GCE_METADATA_HOST=" + mds.endpoint()}, dir / "out.txt",
                                   dir / "err.txt");
  REQUIRE(eventually([&] { return mds.guestAttributes().count("guestpulse/status") == 1; }, 10s));
  // The server stops answering: the stop must still be bounded by the flush bound (5 s).
  mds.addFault(fake::hangFault());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(child.signal(SIGTERM));
  int code = child.wait(20s);
  auto took = std::chrono::steady_clock::now() - start;
  if (code == -1) child.killHard();
  CHECK(code == 0);
  // Unbounded, the stop would wait on the hung server for good; the margin over the 5 s
  // flush bound is for a loaded machine and the sanitizer builds.
  CHECK(took < 10s);
  CHECK_THAT(readFile(dir / "serial.log"), Catch::Contains("guestpulse stopping"));
}
