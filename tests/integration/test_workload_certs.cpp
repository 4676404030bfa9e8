// The workload_certs probe against the fake metadata server and credential files written
// at test time: the feature off costs no request to gce-workload-certificates/, a 404
// config-status is one INFO line over many intervals and never an ERROR, and every
// credential problem is named by the probe, by `guestpulse check` and by the agent.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "agent/app/agent.hpp"
#include "agent/app/probe_factory.hpp"
#include "agent/certs/workload_credentials.hpp"
#include "agent/diagnosis/workload_certs.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/probe.hpp"
#include "agent/probes/workload_certs_probe.hpp"
#include "tests/integration/harness.hpp"
#include "tests/support/cert_factory.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

const std::string kStatusPath =
    "/computeMetadata/v1/instance/gce-workload-certificates/config-status";
const std::string kAttribute = "instance/attributes/enable-workload-certificate";

// Runs the named probe of `config` `times` times in a row, on one probe object (as the
// agent does), and returns the results.
std::vector<ProbeResult> runProbe(const Config& config, const std::string& name, int times = 1) {
  asio::io_context io;
  BlockingPool pool(2);
  HttpClient http(io.get_executor(), pool);
  auto metadata = makeMetadataClient(config, http, makeUnitRandom(3));
  auto probes = makeProbes(config, ProbeDeps{*metadata, http, pool, nullptr});
  std::vector<ProbeResult> results;
  for (auto& probe : probes) {
    if (probe->name() != name) continue;
    Probe* p = probe.get();
    asio::co_spawn(
        io,
        [&, p]() -> asio::awaitable<void> {
          for (int i = 0; i < times; ++i) results.push_back(co_await p->run({}));
        },
        asio::detached);
  }
  io.run();
  if (results.empty()) results.push_back(ProbeResult::failed("test.no_probe", name, ""));
  return results;
}

ProbeResult runOnce(const Config& config) { return runProbe(config, "workload_certs").front(); }

std::size_t certificateRequests(const fake::FakeMds& mds) {
  std::size_t n = 0;
  for (const auto& r : mds.requests())
    if (r.target.find("gce-workload-certificates") != std::string::npos) ++n;
  return n;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

struct Workload {
  fake::FakeMds mds{withGuestAttributes()};
  TempDir dir;
  TestCa root = TestCa::create("Workload Root");

  Workload() { mds.start(); }

  std::filesystem::path creds() const { return dir / "workload-spiffe-credentials"; }

  Config config(Enablement enabled = Enablement::Auto) const {
    Config c = fastConfig(mds, dir);
    c.probes.mdsMtls.enabled = Enablement::False;
    c.probes.workloadCerts.enabled = enabled;
    c.probes.workloadCerts.interval = 1s;
    c.probes.workloadCerts.credentialsDir = creds().string();
    return c;
  }

  std::string yaml(Enablement enabled = Enablement::Auto) const {
    return "provider: gce\n"
           "metadata: { timeout: 500ms }\n"
           "retry: { initial: 100ms, max: 1s, multiplier: 2, attempts: 3 }\n"
           "probes:\n"
           "  metadata: { interval: 1s }\n"
           "  mds_mtls: { enabled: false }\n"
           "  workload_certs:\n"
           "    enabled: " +
           std::string(toString(enabled)) +
           "\n"
           "    interval: 1s\n"
           "    credentials_dir: " +
           creds().string() +
           "\n"
           "report:\n  serial: { device: " +
           (dir / "serial.log").string() +
           " }\n"
           "  state_dir: " +
           (dir / "state").string() + "\n";
  }

  void enable() { mds.setValue(kAttribute, "true"); }
  void statusOk() { mds.setValue(kStatusPath, R"({"status":"OK","metadataAttributesErrors":{}})"); }

  // Writes a credential set whose leaf follows `spec`; `key` replaces the leaf's key.
  void writeCredentials(const CertSpec& spec, const std::string& key = {}) {
    TestCert leaf = root.issue(spec);
    writeSecret(creds() / certs::kWorkloadCertificatesFile, leaf.certPem);
    writeSecret(creds() / certs::kWorkloadPrivateKeyFile, key.empty() ? leaf.keyPem : key);
    writeSecret(creds() / certs::kWorkloadTrustAnchorsFile, root.certPem());
  }
};

CertSpec leafSpec() { return workloadSpec("spiffe://proj.svc.id.goog/ns/default/sa/app"); }

CheckedProbe checkBinary(const Workload& w, Enablement enabled = Enablement::Auto) {
  return checkProbe(w.dir.path(), w.yaml(enabled), w.mds.endpoint(), "workload_certs");
}

std::string agentSerial(Workload& w, const std::string& line) {
  return serialUntil(w.config(), w.dir.path(), line);
}

void expectCause(Workload& w, State state, const std::string& cause,
                 const std::string& messagePart) {
  ProbeResult direct = runOnce(w.config());
  INFO("probe: " << direct.cause << ": " << direct.message);
  CHECK(direct.state == state);
  CHECK(direct.cause == cause);
  CHECK_THAT(direct.message, Catch::Contains(messagePart));

  CheckedProbe checked = checkBinary(w);
  CHECK(checked.cause == cause);
  CHECK(checked.state == toString(state));
  CHECK(checked.exitCode == (state == State::Failed ? 2 : state == State::Degraded ? 1 : 0));

  std::string expected =
      "probe=workload_certs state=" + std::string(toString(state)) + " cause=" + cause;
  std::string serial = agentSerial(w, expected);
  INFO(serial);
  CHECK_THAT(serial, Catch::Contains(expected));
}

}  // namespace

TEST_CASE("workload_certs auto, feature off: no request reaches gce-workload-certificates",
          "[workload]") {
  Workload w;
  SECTION("attribute absent") {}
  SECTION("attribute false") { w.mds.setValue(kAttribute, "false"); }

  ProbeResult direct = runOnce(w.config());
  CHECK(direct.state == State::Ok);
  CHECK(direct.cause.empty());
  CHECK_THAT(direct.message, Catch::Contains("not enabled"));

  CheckedProbe checked = checkBinary(w);
  CHECK(checked.exitCode == 0);
  CHECK(checked.state == "OK");
  CHECK(checked.cause.empty());

  // The agent, over several intervals.
  {
    RunningAgent running(w.config());
    REQUIRE(w.mds.waitUntil(
        [&] {
          std::size_t asked = 0;
          for (const auto& r : w.mds.requests())
            if (r.target == "/computeMetadata/v1/" + kAttribute) ++asked;
          return asked >= 4;
        },
        15s));
    running.stop();
  }
  CHECK(certificateRequests(w.mds) == 0);
  CHECK(readFile(w.dir / "serial.log").find("ERROR") == std::string::npos);
}

TEST_CASE("workload_certs: 404 config-status is one INFO line over many intervals, never an ERROR",
          "[workload]") {
  Workload w;
  w.enable();  // the attribute says yes, but the VM has no configuration: GCE answers 404

  ProbeResult direct = runOnce(w.config());
  CHECK(direct.state == State::Ok);
  CHECK(direct.cause == "workload_certs.not_configured");
  CHECK_THAT(direct.message, Catch::Contains("HTTP 404"));

  CheckedProbe checked = checkBinary(w);
  CHECK(checked.exitCode == 0);
  CHECK(checked.state == "OK");
  CHECK(checked.cause == "workload_certs.not_configured");

  w.mds.clearRequests();
  RunningAgent running(w.config());
  auto statusRequests = [&] {
    std::size_t n = 0;
    for (const auto& r : w.mds.requests())
      if (r.target == kStatusPath && r.status == 404) ++n;
    return n;
  };
  REQUIRE(w.mds.waitUntil([&] { return statusRequests() >= 6; }, 20s));
  running.stop();
  std::string serial = readFile(w.dir / "serial.log");
  INFO(serial);
  CHECK(count(serial, "workload_certs.not_configured") == 1);
  CHECK(count(serial, "INFO probe=workload_certs state=OK cause=workload_certs.not_configured") ==
        1);
  CHECK(serial.find("ERROR") == std::string::npos);
  CHECK(serial.find("WARN") == std::string::npos);
  auto attributes = w.mds.guestAttributes();
  CHECK_THAT(attributes["guestpulse/probe-workload_certs"],
             Catch::StartsWith("OK workload_certs.not_configured"));
  CHECK(attributes["guestpulse/status"] == "OK");
  CHECK(attributes.count("guestpulse/last-failure") == 0);
}

TEST_CASE("workload_certs: 404 'feature not enabled' and enabled: true skip the attribute",
          "[workload]") {
  Workload w;
  // The 404 GCE answers when the VM supports the feature but it is off.
  fake::FaultRule notEnabled = fake::statusFault(404, kStatusPath);
  notEnabled.body = "workload certificate feature not enabled";
  w.mds.addFault(notEnabled);
  ProbeResult result = runOnce(w.config(Enablement::True));
  CHECK(result.cause == "workload_certs.not_configured");
  CHECK_THAT(result.message, Catch::Contains("not enabled"));
  for (const auto& r : w.mds.requests())
    CHECK(r.target.find("enable-workload-certificate") == std::string::npos);
}

TEST_CASE("workload_certs: the last verdict stands while the metadata server is unreachable",
          "[workload]") {
  Workload w;
  w.enable();
  w.mds.addFault(fake::statusFault(503, kStatusPath, 3));  // the first run's whole retry budget
  Config config = w.config();
  // The first run sees only 503s: no verdict yet, OK "not checked"; then 404 twice.
  std::vector<ProbeResult> results = runProbe(config, "workload_certs", 3);
  REQUIRE(results.size() == 3);
  CHECK(results[0].state == State::Ok);
  CHECK(results[0].cause.empty());
  CHECK_THAT(results[0].message, Catch::Contains("not checked yet"));
  CHECK(results[1].cause == "workload_certs.not_configured");
  CHECK(results[2].cause == "workload_certs.not_configured");
  w.mds.addFault(fake::statusFault(503, kStatusPath));
  std::vector<ProbeResult> later = runProbe(config, "workload_certs", 1);
  CHECK(later[0].cause.empty());  // a fresh probe has no verdict to keep
  // On one probe object: 404, then an outage keeps not_configured.
  w.mds.clearFaults();
  asio::io_context io;
  BlockingPool pool(2);
  HttpClient http(io.get_executor(), pool);
  auto metadata = makeMetadataClient(config, http, makeUnitRandom(3));
  auto probes = makeProbes(config, ProbeDeps{*metadata, http, pool, nullptr});
  Probe* probe = nullptr;
  for (auto& p : probes)
    if (p->name() == "workload_certs") probe = p.get();
  REQUIRE(probe);
  std::vector<ProbeResult> seen;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        seen.push_back(co_await probe->run({}));
        w.mds.addFault(fake::statusFault(503, kStatusPath));
        seen.push_back(co_await probe->run({}));
      },
      asio::detached);
  io.run();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].cause == "workload_certs.not_configured");
  CHECK(seen[1].cause == "workload_certs.not_configured");
  bool marked = false;
  for (const auto& [k, v] : seen[1].details)
    if (k == "not_rechecked") marked = true;
  CHECK(marked);
}

TEST_CASE("workload_certs: 412 and 200-with-errors are workload_certs.misconfigured",
          "[workload]") {
  Workload w;
  w.enable();
  SECTION("412 Precondition Failed, with the server's message") {
    fake::FaultRule precondition = fake::statusFault(412, kStatusPath);
    precondition.body =
        "<html><body>Precondition Failed: trust configuration missing</body></html>";
    w.mds.addFault(precondition);
    expectCause(w, State::Failed, "workload_certs.misconfigured", "trust configuration missing");
  }
  SECTION("200 with metadataAttributesErrors") {
    w.mds.setValue(kStatusPath,
                   R"({"status":"ERROR","metadataAttributesErrors":{"enable-workload-certificate":)"
                   R"("workload identity pool not found"}})");
    expectCause(w, State::Failed, "workload_certs.misconfigured",
                "workload identity pool not found");
  }
}

TEST_CASE("workload_certs: config-status OK and the credentials checked", "[workload]") {
  Workload w;
  w.enable();
  w.statusOk();
  CertSpec spec = leafSpec();

  SECTION("a fresh, consistent set is OK") {
    w.writeCredentials(spec);
    ProbeResult ok = runOnce(w.config());
    INFO(ok.message);
    CHECK(ok.state == State::Ok);
    CHECK(ok.cause.empty());
    CHECK_THAT(ok.message,
               Catch::Contains("config-status OK") && Catch::Contains("spiffe://proj.svc.id.goog"));
    CheckedProbe checked = checkBinary(w);
    CHECK(checked.exitCode == 0);
    CHECK(checked.state == "OK");
  }
  SECTION("no credentials directory: workload_certs.credentials_missing") {
    expectCause(w, State::Failed, "workload_certs.credentials_missing", "does not exist");
  }
  SECTION("a key from another rotation: workload_certs.invalid") {
    w.writeCredentials(spec, TestKey::generate().pem());
    expectCause(w, State::Failed, "workload_certs.invalid", "is not the key of");
  }
  SECTION("anchors of another trust domain: workload_certs.invalid") {
    w.writeCredentials(spec);
    writeSecret(w.creds() / certs::kWorkloadTrustAnchorsFile,
                TestCa::create("Elsewhere").certPem());
    expectCause(w, State::Failed, "workload_certs.invalid", "does not chain");
  }
  SECTION("expired: workload_certs.expired") {
    spec.notBeforeOffset = -30h;
    spec.notAfterOffset = -6h;
    w.writeCredentials(spec);
    expectCause(w, State::Failed, "workload_certs.expired", "expired at");
  }
  SECTION("not yet valid: workload_certs.invalid (the clock)") {
    spec.notBeforeOffset = 2h;
    spec.notAfterOffset = 26h;
    w.writeCredentials(spec);
    expectCause(w, State::Failed, "workload_certs.invalid", "clock");
  }
  SECTION("expiring: DEGRADED workload_certs.expiring") {
    spec.notBeforeOffset = -22h;
    spec.notAfterOffset = 2h;
    w.writeCredentials(spec);
    expectCause(w, State::Degraded, "workload_certs.expiring", "expires at");
  }
  SECTION("not rewritten for over half the lifetime: DEGRADED workload_certs.not_rotated") {
    spec.notBeforeOffset = -13h;
    spec.notAfterOffset = 11h;
    w.writeCredentials(spec);
    auto old = std::filesystem::file_time_type::clock::now() - 13h;
    std::filesystem::last_write_time(w.creds() / certs::kWorkloadCertificatesFile, old);
    expectCause(w, State::Degraded, "workload_certs.not_rotated", "rotation has stopped");
  }
}
