// The metadata server's mTLS files (root.crt, client.key), judged before connecting.

#include <catch2/catch.hpp>
#include <filesystem>

#include "agent/certs/mtls_credentials.hpp"
#include "agent/diagnosis/mtls.hpp"
#include "agent/diagnosis/tls_failure.hpp"
#include "agent/net/tls_client.hpp"
#include "agent/probes/mds_mtls_probe.hpp"
#include "config/config.hpp"
#include "tests/support/cert_factory.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;
using namespace guestpulse::certs;
using namespace guestpulse::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct MtlsDir {
  std::string root() const { return (tmp / "root.crt").string(); }
  std::string client() const { return (tmp / "client.key").string(); }
  MtlsCredentialsFinding inspect() const {
    return inspectMtlsCredentials(readMtlsCredentials(root(), client()), WallClock::now());
  }
  TempDir tmp;
};

}  // namespace

TEST_CASE("mtls files: good CA and client certificate with its key", "[certs]") {
  MtlsDir dir;
  TestCa ca = TestCa::create("MDS Root");
  TestCert client = ca.issue(clientSpec());
  writeSecret(dir.root(), ca.certPem());
  writeSecret(dir.client(), client.combinedPem());
  MtlsCredentialsFinding f = dir.inspect();
  INFO(f.message);
  CHECK(f.problem == MtlsFileProblem::None);
  CHECK(f.caCertificates == 1);
  REQUIRE(f.client);
  CHECK(f.client->subject == "CN=mds-client");
  CHECK(f.validity.validity == Validity::Valid);
}

TEST_CASE("mtls files: CA missing or unusable is CaMissing (curl 77)", "[certs]") {
  MtlsDir dir;
  TestCa ca = TestCa::create("MDS Root");
  writeSecret(dir.client(), ca.issue(clientSpec()).combinedPem());

  MtlsCredentialsFinding missing = dir.inspect();
  CHECK(missing.problem == MtlsFileProblem::CaMissing);
  CHECK_THAT(missing.message, Catch::Contains("root.crt") && Catch::Contains("No such file"));

  writeSecret(dir.root(), "not a certificate\n");
  MtlsCredentialsFinding garbage = dir.inspect();
  CHECK(garbage.problem == MtlsFileProblem::CaMissing);
  CHECK_THAT(garbage.message, Catch::Contains("no PEM certificate"));
}

TEST_CASE("mtls files: client missing, keyless or mismatched is ClientMissing (curl 58)",
          "[certs]") {
  MtlsDir dir;
  TestCa ca = TestCa::create("MDS Root");
  TestCert client = ca.issue(clientSpec());
  writeSecret(dir.root(), ca.certPem());

  CHECK(dir.inspect().problem == MtlsFileProblem::ClientMissing);

  writeSecret(dir.client(), client.certPem);
  MtlsCredentialsFinding keyless = dir.inspect();
  CHECK(keyless.problem == MtlsFileProblem::ClientMissing);
  CHECK_THAT(keyless.message, Catch::Contains("no PEM private key"));

  writeSecret(dir.client(), client.certPem + TestKey::generate().pem());
  MtlsCredentialsFinding mismatch = dir.inspect();
  CHECK(mismatch.problem == MtlsFileProblem::ClientMissing);
  CHECK_THAT(mismatch.message, Catch::Contains("does not match"));
}

TEST_CASE("mtls files: client certificate dates", "[certs]") {
  MtlsDir dir;
  TestCa ca = TestCa::create("MDS Root");
  writeSecret(dir.root(), ca.certPem());
  CertSpec spec = clientSpec();

  spec.notBeforeOffset = -48h;
  spec.notAfterOffset = -1h;
  writeSecret(dir.client(), ca.issue(spec).combinedPem());
  CHECK(dir.inspect().problem == MtlsFileProblem::ClientExpired);

  spec.notBeforeOffset = 1h;
  spec.notAfterOffset = 48h;
  writeSecret(dir.client(), ca.issue(spec).combinedPem());
  CHECK(dir.inspect().problem == MtlsFileProblem::ClientNotYetValid);

  // 30-day certificate with 2 days left: within 7 days (the cap; 20 % would be 6 days).
  spec.notBeforeOffset = -24h * 28;
  spec.notAfterOffset = 24h * 2;
  writeSecret(dir.client(), ca.issue(spec).combinedPem());
  MtlsCredentialsFinding expiring = dir.inspect();
  CHECK(expiring.problem == MtlsFileProblem::None);
  CHECK(expiring.validity.validity == Validity::Expiring);
}

TEST_CASE("mtls diagnosis: file problems name the cause and the curl error", "[certs]") {
  MdsMtlsFacts facts;
  facts.endpoint = "169.254.169.254:443";
  facts.serverName = "metadata.google.internal";
  facts.files.problem = MtlsFileProblem::CaMissing;
  facts.files.message = "CA file /run/google-mds-mtls/root.crt: No such file or directory";
  ProbeResult ca = diagnoseMdsMtls(facts);
  CHECK(ca.state == State::Failed);
  CHECK(ca.cause == "mtls.ca_missing");
  CHECK(ca.message == facts.files.message);
  CHECK_THAT(ca.fix, Catch::Contains("curl error 77"));

  facts.files.problem = MtlsFileProblem::ClientMissing;
  CHECK(diagnoseMdsMtls(facts).cause == "mtls.client_cert_missing");
}

TEST_CASE("mtls diagnosis: no OpenSSL runtime is agent.tls_unavailable, not a file problem",
          "[certs]") {
  MdsMtlsFacts facts;
  facts.endpoint = "169.254.169.254:443";
  facts.load = TlsLoadError{TlsLoadStep::Library,
                            "OpenSSL 3 could not be loaded (libssl.so.3: cannot open shared "
                            "object file: No such file or directory)"};
  ProbeResult result = diagnoseMdsMtls(facts);
  CHECK(result.state == State::Failed);
  CHECK(result.cause == "agent.tls_unavailable");
  CHECK_THAT(result.message, Catch::Contains("169.254.169.254:443") &&
                                 Catch::Contains("libssl.so.3: cannot open shared object file"));
  CHECK_THAT(result.fix, Catch::Contains("libssl3") && Catch::Contains("restart guestpulse"));
}

TEST_CASE("tls alerts are named, including TLS 1.3's certificate required", "[certs]") {
  CHECK(tlsAlertName(116) == "certificate required");
  CHECK(tlsAlertName(40) == "handshake failure");
  CHECK(tlsAlertName(48) == "unknown CA");
  CHECK(tlsAlertName(250) == "alert 250");
}

TEST_CASE("config: probes.mds_mtls.port defaults to 443 and is a TCP port", "[certs][config]") {
  CHECK(Config{}.probes.mdsMtls.port == 443);
  ConfigLoadResult set = parseConfig("probes:\n  mds_mtls:\n    port: 8443\n");
  REQUIRE(set.config);
  CHECK(set.config->probes.mdsMtls.port == 8443);
  for (const char* bad : {"0", "65536"}) {
    ConfigLoadResult r = parseConfig(std::string("probes:\n  mds_mtls:\n    port: ") + bad + "\n");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].path == "probes.mds_mtls.port");
    CHECK(r.problems[0].line == 3);
  }
}
