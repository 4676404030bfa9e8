// The mds_mtls probe against the fake's HTTPS listener, with certificates generated for
// each case: every cause reproduced by the probe itself, by `guestpulse check --json`
// (the real binary) and by the running agent (its serial line).

#include <csignal>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "agent/app/agent.hpp"
#include "agent/app/probe_factory.hpp"
#include "agent/diagnosis/mtls.hpp"
#include "agent/diagnosis/tls_failure.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/net/tls_client.hpp"
#include "agent/probes/mds_mtls_probe.hpp"
#include "agent/probes/probe.hpp"
#include "tests/integration/harness.hpp"
#include "tests/support/cert_factory.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

const std::string kMdsName = "metadata.google.internal";

// Runs the named probe of `config` once, on a fresh io_context.
ProbeResult runProbeOnce(const Config& config, const std::string& name) {
  asio::io_context io;
  BlockingPool pool(2);
  HttpClient http(io.get_executor(), pool);
  auto metadata = makeMetadataClient(config, http, makeUnitRandom(7));
  auto probes = makeProbes(config, ProbeDeps{*metadata, http, pool, nullptr});
  ProbeResult result = ProbeResult::failed("test.no_probe", "no probe named " + name, "");
  for (auto& probe : probes) {
    if (probe->name() != name) continue;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { result = co_await probe->run({}); }, asio::detached);
  }
  io.run();
  return result;
}

// A metadata server with an HTTPS listener that wants client certificates from
// `clientCa`, and the guest agent's files for this VM in `dir`.
struct MtlsWorld {
  TempDir dir;
  TestCa serverCa = TestCa::create("MDS Root");
  TestCa clientCa = TestCa::create("MDS Client CA");
  std::unique_ptr<fake::FakeMds> mds;

  explicit MtlsWorld(const CertSpec& serverCert = serverSpec(kMdsName)) {
    TestCert server = serverCa.issue(serverCert);
    writeSecret(dir / "server.crt", server.certPem);
    writeSecret(dir / "server.key", server.keyPem);
    writeSecret(dir / "client-ca.crt", clientCa.certPem());
    fake::Options options = withGuestAttributes();
    options.https = fake::HttpsOptions{{"127.0.0.1", 0},
                                       (dir / "server.crt").string(),
                                       (dir / "server.key").string(),
                                       (dir / "client-ca.crt").string(),
                                       true};
    mds = std::make_unique<fake::FakeMds>(options);
    mds->start();
    // What the guest agent writes when the feature is on.
    writeSecret(rootCa(), serverCa.certPem());
    writeSecret(clientKey(), clientCa.issue(clientSpec()).combinedPem());
  }

  std::string rootCa() const { return (dir / "mtls" / "root.crt").string(); }
  std::string clientKey() const { return (dir / "mtls" / "client.key").string(); }

  Config config(Enablement enabled = Enablement::True) const {
    Config c = fastConfig(*mds, dir);
    c.probes.workloadCerts.enabled = Enablement::False;
    c.probes.mdsMtls.enabled = enabled;
    c.probes.mdsMtls.interval = 1s;
    c.probes.mdsMtls.rootCa = rootCa();
    c.probes.mdsMtls.clientCert = clientKey();
    c.probes.mdsMtls.port = mds->httpsPort();
    return c;
  }

  std::string yaml(Enablement enabled = Enablement::True) const {
    return "provider: gce\n"
           "metadata: { timeout: 500ms }\n"
           "retry: { initial: 100ms, max: 1s, multiplier: 2, attempts: 3 }\n"
           "probes:\n"
           "  metadata: { interval: 1s }\n"
           "  workload_certs: { enabled: false }\n"
           "  mds_mtls:\n"
           "    enabled: " +
           std::string(toString(enabled)) +
           "\n"
           "    interval: 1s\n"
           "    root_ca: " +
           rootCa() +
           "\n"
           "    client_cert: " +
           clientKey() +
           "\n"
           "    port: " +
           std::to_string(mds->httpsPort()) +
           "\n"
           "report:\n  serial: { device: " +
           (dir / "serial.log").string() +
           " }\n"
           "  state_dir: " +
           (dir / "state").string() + "\n";
  }

  void setClient(const CertSpec& spec) {
    writeSecret(clientKey(), clientCa.issue(spec).combinedPem());
  }
};

CheckedProbe checkBinary(const MtlsWorld& world) {
  return checkProbe(world.dir.path(), world.yaml(), world.mds->endpoint(), "mds_mtls");
}

// The agent, in process, until its serial log shows `line` (or 10 s pass).
std::string agentSerial(const MtlsWorld& world, const std::string& line) {
  return serialUntil(world.config(), world.dir.path(), line);
}

// The cause named three ways: by the probe, by `check --json`, by the running agent.
void expectCause(MtlsWorld& world, State state, const std::string& cause,
                 const std::string& messagePart = {}) {
  ProbeResult direct = runProbeOnce(world.config(), "mds_mtls");
  INFO("probe: " << direct.cause << ": " << direct.message);
  CHECK(direct.state == state);
  CHECK(direct.cause == cause);
  if (!messagePart.empty()) CHECK_THAT(direct.message, Catch::Contains(messagePart));
  CHECK_FALSE(direct.fix.empty());

  CheckedProbe checked = checkBinary(world);
  CHECK(checked.cause == cause);
  CHECK(checked.state == toString(state));
  CHECK(checked.exitCode == (state == State::Failed ? 2 : state == State::Degraded ? 1 : 0));

  std::string expectedLine =
      "probe=mds_mtls state=" + std::string(toString(state)) + " cause=" + cause;
  std::string serial = agentSerial(world, expectedLine);
  INFO(serial);
  CHECK_THAT(serial, Catch::Contains(expectedLine));
}

}  // namespace

TEST_CASE("mds_mtls: a healthy mTLS endpoint is OK, by the probe, check and the agent", "[mtls]") {
  MtlsWorld world;
  ProbeResult ok = runProbeOnce(world.config(), "mds_mtls");
  INFO(ok.message);
  CHECK(ok.state == State::Ok);
  CHECK(ok.cause.empty());
  CHECK_THAT(ok.message, Catch::Contains("over mTLS") && Catch::Contains("answered"));
  CHECK(world.mds->tlsHandshakes() >= 1);
  // The request went through the TLS listener with the flavor header, to instance/id.
  bool seen = false;
  for (const auto& r : world.mds->requests())
    if (r.target == "/computeMetadata/v1/instance/id" && r.flavor) seen = true;
  CHECK(seen);

  CheckedProbe checked = checkBinary(world);
  CHECK(checked.exitCode == 0);
  CHECK(checked.state == "OK");
  CHECK_THAT(agentSerial(world, "probe=mds_mtls state=OK"),
             Catch::Contains("probe=mds_mtls state=OK"));
}

TEST_CASE("mds_mtls auto: without root.crt it is 'not set up' and connects to nothing", "[mtls]") {
  MtlsWorld world;
  std::filesystem::remove(world.rootCa());
  ProbeResult result = runProbeOnce(world.config(Enablement::Auto), "mds_mtls");
  CHECK(result.state == State::Ok);
  CHECK_THAT(result.message, Catch::Contains("not set up"));
  CHECK(world.mds->tlsHandshakes() + world.mds->tlsHandshakeFailures() == 0);
  // With the file present, auto runs the probe.
  writeSecret(world.rootCa(), world.serverCa.certPem());
  CHECK_THAT(runProbeOnce(world.config(Enablement::Auto), "mds_mtls").message,
             Catch::Contains("over mTLS"));
}

// Which OpenSSL libraries process `pid` has mapped ("libssl.so.3 libcrypto.so.3").
std::string mappedOpenSsl(int pid) {
  std::string maps = readFile("/proc/" + std::to_string(pid) + "/maps");
  std::string found;
  for (const char* name : {"libssl.so", "libcrypto.so"})
    if (maps.find(name) != std::string::npos) found += std::string(found.empty() ? "" : " ") + name;
  return found;
}

TEST_CASE("the agent binary never maps OpenSSL: TLS probes run in a child", "[mtls][footprint]") {
  if (!GUESTPULSE_BINARY_LOADS_OPENSSL_LATE) {
    WARN("skipped: this build links OpenSSL into the agent binary (GUESTPULSE_LAZY_OPENSSL=OFF)");
    return;
  }
  MtlsWorld world;
  std::filesystem::remove(world.rootCa());
  writeFile(world.dir / "g.yaml", world.yaml(Enablement::Auto));
  auto agent = ChildProcess::spawn(
      {GUESTPULSE_BINARY, "run", "-c", (world.dir / "g.yaml").string()},
      {"GCE_METADATA_HOST=" + world.mds->endpoint()}, world.dir / "run.out", world.dir / "run.err");
  // Several metadata cycles and mds_mtls "not set up" checks: nothing needed TLS.
  REQUIRE(eventually([&] { return world.mds->requests().size() >= 3; }, 10s));
  REQUIRE(eventually(
      [&] {
        return readFile(world.dir / "serial.log").find("probe=metadata") != std::string::npos ||
               std::filesystem::exists(world.dir / "state" / "status.json");
      },
      10s));
  INFO(readFile(world.dir / "run.err"));
  CHECK(mappedOpenSsl(agent.pid).empty());
  CHECK(world.mds->tlsHandshakes() == 0);

  // The guest agent sets mTLS up: the next mds_mtls cycles connect, each from a short-lived
  // child of the agent, and the verdict reaches the daemon's status file. The daemon itself
  // still maps no OpenSSL.
  writeSecret(world.rootCa(), world.serverCa.certPem());
  REQUIRE(eventually([&] { return world.mds->tlsHandshakes() >= 2; }, 15s));
  REQUIRE(eventually(
      [&] {
        return readFile(world.dir / "state" / "status.json").find("over mTLS to") !=
               std::string::npos;
      },
      10s));
  CHECK(mappedOpenSsl(agent.pid).empty());
  REQUIRE(agent.signal(SIGTERM));
  CHECK(agent.wait(10s) == 0);
  CHECK_THAT(readFile(world.dir / "run.err"), !Catch::Contains("OpenSSL 3 could not be loaded"));
}

TEST_CASE("mds_mtls: CA file missing or not PEM is mtls.ca_missing (curl 77)", "[mtls]") {
  MtlsWorld world;
  std::filesystem::remove(world.rootCa());
  expectCause(world, State::Failed, "mtls.ca_missing", "No such file or directory");
  writeSecret(world.rootCa(), "garbage\n");
  expectCause(world, State::Failed, "mtls.ca_missing", "no PEM certificate");
}

TEST_CASE(
    "mds_mtls: client certificate missing, keyless or mismatched is mtls.client_cert_missing (curl "
    "58)",
    "[mtls]") {
  MtlsWorld world;
  std::filesystem::remove(world.clientKey());
  expectCause(world, State::Failed, "mtls.client_cert_missing", "client.key");

  TestCert client = world.clientCa.issue(clientSpec());
  writeSecret(world.clientKey(), client.certPem);
  expectCause(world, State::Failed, "mtls.client_cert_missing", "no PEM private key");

  writeSecret(world.clientKey(), client.certPem + TestKey::generate().pem());
  expectCause(world, State::Failed, "mtls.client_cert_missing", "does not match");
}

TEST_CASE("mds_mtls: server certificate for another name is mtls.hostname_mismatch (curl 60)",
          "[mtls]") {
  MtlsWorld world(serverSpec("metadata.wrong.example"));
  expectCause(world, State::Failed, "mtls.hostname_mismatch", "metadata.wrong.example");
}

TEST_CASE(
    "mds_mtls: server certificate from another CA, expired or not yet valid is "
    "mtls.handshake_failed",
    "[mtls]") {
  SECTION("root.crt is another CA's") {
    MtlsWorld world;
    writeSecret(world.rootCa(), TestCa::create("Stale Root").certPem());
    expectCause(world, State::Failed, "mtls.handshake_failed",
                "unable to get local issuer certificate");
  }
  SECTION("the server's certificate has expired") {
    CertSpec expired = serverSpec(kMdsName);
    expired.notBeforeOffset = -48h;
    expired.notAfterOffset = -1h;
    MtlsWorld world(expired);
    expectCause(world, State::Failed, "mtls.handshake_failed", "certificate has expired");
  }
  SECTION("the server's certificate is not yet valid") {
    CertSpec future = serverSpec(kMdsName);
    future.notBeforeOffset = 2h;
    future.notAfterOffset = 48h;
    MtlsWorld world(future);
    expectCause(world, State::Failed, "mtls.handshake_failed", "not yet valid");
  }
}

TEST_CASE(
    "mds_mtls: a client certificate the server does not trust is mtls.handshake_failed (curl 56)",
    "[mtls]") {
  MtlsWorld world;
  writeSecret(world.clientKey(), TestCa::create("Some Other CA").issue(clientSpec()).combinedPem());
  expectCause(world, State::Failed, "mtls.handshake_failed", "unknown CA");
}

TEST_CASE("mds_mtls: no client certificate: the server's 'certificate required' alert is named",
          "[mtls]") {
  // The probe always presents one (else mtls.client_cert_missing); a client without one,
  // as curl without --cert, gets TLS 1.3 alert 116. The classifier names it.
  MtlsWorld world;
  asio::io_context io;
  BlockingPool pool(1);
  HttpClient http(io.get_executor(), pool);
  TlsLoadError loadError;
  auto tls = TlsContextProvider::create({world.rootCa(), "", ""}, loadError);
  REQUIRE(tls);
  HttpRequest request;
  request.host = "127.0.0.1";
  request.port = world.mds->httpsPort();
  request.target = "/computeMetadata/v1/instance/id";
  request.headers = {{"Metadata-Flavor", "Google"}};
  request.tls = true;
  request.tlsServerName = kMdsName;
  HttpResult got;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { got = co_await http.request(request, 2s, tls.get()); },
      asio::detached);
  io.run();
  REQUIRE_FALSE(got.ok());
  TlsFailure failure = describeTlsFailure(got);
  CHECK(failure.kind == TlsFailureKind::AlertReceived);
  CHECK(failure.alert == 116);
  CHECK(failure.alertName == "certificate required");
  // The server counts its failed handshake on its own thread, after its alert went out.
  CHECK(eventually([&] { return world.mds->tlsHandshakeFailures() >= 1; }, 2s));

  MdsMtlsFacts facts;
  facts.endpoint = "127.0.0.1:" + std::to_string(world.mds->httpsPort());
  facts.serverName = kMdsName;
  facts.call = MetadataResult{};
  facts.call->attempts.push_back({got, Duration(0)});
  ProbeResult result = diagnoseMdsMtls(facts);
  CHECK(result.cause == "mtls.handshake_failed");
  CHECK_THAT(result.message, Catch::Contains("certificate required"));
  CHECK_THAT(result.fix, Catch::Contains("curl error 56"));
}

TEST_CASE("mds_mtls: client certificate dates: expired, not yet valid, expiring", "[mtls]") {
  MtlsWorld world;
  CertSpec spec = clientSpec();
  SECTION("expired: mtls.cert_expired, with what the server said") {
    spec.notBeforeOffset = -48h;
    spec.notAfterOffset = -1h;
    world.setClient(spec);
    expectCause(world, State::Failed, "mtls.cert_expired", "certificate expired");
  }
  SECTION("not yet valid: mtls.cert_not_yet_valid (the clock)") {
    spec.notBeforeOffset = 3h;
    spec.notAfterOffset = 48h;
    world.setClient(spec);
    expectCause(world, State::Failed, "mtls.cert_not_yet_valid", "clock");
  }
  SECTION("expiring within 7 days: DEGRADED mtls.cert_expiring, mTLS still works") {
    spec.notBeforeOffset = -24h * 60;
    spec.notAfterOffset = 24h * 3;
    world.setClient(spec);
    expectCause(world, State::Degraded, "mtls.cert_expiring", "expires at");
  }
}

TEST_CASE("mds_mtls: HTTP answers over mTLS are classified like the plain metadata probe",
          "[mtls]") {
  MtlsWorld world;
  world.mds->addFault(fake::statusFault(503, "/computeMetadata/v1/instance/id"));
  ProbeResult result = runProbeOnce(world.config(), "mds_mtls");
  CHECK(result.cause == "mds.unavailable");
  CHECK_THAT(result.message, Catch::Contains("over mTLS") && Catch::Contains("3 attempts"));
}
