// Workload credentials (/run/secrets/workload-spiffe-credentials) and the config-status
// answer, judged without the network: files written to a temporary directory.

#include <catch2/catch.hpp>
#include <filesystem>

#include "agent/certs/workload_credentials.hpp"
#include "agent/diagnosis/workload_certs.hpp"
#include "agent/probes/workload_certs_probe.hpp"
#include "tests/support/cert_factory.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;
using namespace guestpulse::certs;
using namespace guestpulse::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Credentials {
  TestCa root = TestCa::create("Workload Root");
  TestCert leaf;
  explicit Credentials(CertSpec spec = workloadSpec("spiffe://td.example/ns/default/sa/app")) {
    leaf = root.issue(spec);
  }
  void write(const fs::path& dir, const std::string& key = {}) const {
    writeSecret(dir / kWorkloadCertificatesFile, leaf.certPem);
    writeSecret(dir / kWorkloadPrivateKeyFile, key.empty() ? leaf.keyPem : key);
    writeSecret(dir / kWorkloadTrustAnchorsFile, root.certPem());
  }
};

WorkloadCredentialsFinding inspect(const fs::path& dir, WallTime now = WallClock::now()) {
  return inspectWorkloadCredentials(readWorkloadCredentials(dir.string()), now);
}

}  // namespace

TEST_CASE("workload credentials: a fresh set is fine and named by its SPIFFE ID", "[certs]") {
  TempDir dir;
  Credentials creds;
  creds.write(dir.path());
  WorkloadCredentialsFinding f = inspect(dir.path());
  INFO(f.message);
  CHECK(f.problem == CredentialProblem::None);
  REQUIRE(f.leaf);
  CHECK(f.leaf->name() == "spiffe://td.example/ns/default/sa/app");
  CHECK_THAT(f.message, Catch::Contains("valid until"));
}

TEST_CASE("workload credentials: missing directory or file", "[certs]") {
  TempDir dir;
  CHECK(inspect(dir.path() / "absent").problem == CredentialProblem::Missing);
  Credentials creds;
  creds.write(dir.path());
  fs::remove(dir.path() / kWorkloadPrivateKeyFile);
  WorkloadCredentialsFinding f = inspect(dir.path());
  CHECK(f.problem == CredentialProblem::Missing);
  CHECK_THAT(f.message, Catch::Contains("private_key.pem") && Catch::Contains("No such file"));
}

TEST_CASE("workload credentials: damaged, mismatched key, foreign anchors are invalid", "[certs]") {
  TempDir dir;
  Credentials creds;

  creds.write(dir.path(), TestKey::generate().pem());
  WorkloadCredentialsFinding mismatch = inspect(dir.path());
  CHECK(mismatch.problem == CredentialProblem::Invalid);
  CHECK_THAT(mismatch.message, Catch::Contains("is not the key of certificate spiffe://"));

  creds.write(dir.path());
  writeSecret(dir.path() / kWorkloadTrustAnchorsFile, TestCa::create("Other").certPem());
  WorkloadCredentialsFinding foreign = inspect(dir.path());
  CHECK(foreign.problem == CredentialProblem::Invalid);
  CHECK_THAT(foreign.message, Catch::Contains("does not chain to the 1 trust anchor(s)") &&
                                  Catch::Contains("unable to get local issuer certificate"));

  creds.write(dir.path());
  writeSecret(dir.path() / kWorkloadCertificatesFile,
              "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  CHECK(inspect(dir.path()).problem == CredentialProblem::Invalid);

  creds.write(dir.path());
  writeSecret(dir.path() / kWorkloadCertificatesFile, "\n");
  WorkloadCredentialsFinding empty = inspect(dir.path());
  CHECK(empty.problem == CredentialProblem::Invalid);
  CHECK_THAT(empty.message, Catch::Contains("empty file"));
}

TEST_CASE("workload credentials: dates and rotation", "[certs]") {
  TempDir dir;
  CertSpec spec = workloadSpec("spiffe://td/ns/a/sa/b");

  spec.notBeforeOffset = -48h;
  spec.notAfterOffset = -24h;
  Credentials(spec).write(dir.path());
  CHECK(inspect(dir.path()).problem == CredentialProblem::Expired);

  spec.notBeforeOffset = 1h;
  spec.notAfterOffset = 25h;
  Credentials(spec).write(dir.path());
  WorkloadCredentialsFinding future = inspect(dir.path());
  CHECK(future.problem == CredentialProblem::NotYetValid);
  CHECK_THAT(future.message, Catch::Contains("clock"));

  // 24 h lifetime, 2 h left: under 20 % (4.8 h).
  spec.notBeforeOffset = -22h;
  spec.notAfterOffset = 2h;
  Credentials(spec).write(dir.path());
  CHECK(inspect(dir.path()).problem == CredentialProblem::Expiring);

  // Fine dates, but the file was written 13 h ago: more than half of 24 h plus slack.
  spec.notBeforeOffset = -1h;
  spec.notAfterOffset = 23h;
  Credentials(spec).write(dir.path());
  CHECK(inspect(dir.path()).problem == CredentialProblem::None);
  CHECK(inspect(dir.path(), WallClock::now() + 13h).problem == CredentialProblem::NotRotated);
}

TEST_CASE("config-status: status and errors read tolerantly", "[certs]") {
  ConfigStatus ok =
      parseConfigStatus(R"({"status":"OK","metadataAttributesErrors":{},"extra":{"x":1}})");
  CHECK(ok.parsed);
  CHECK(ok.status == "OK");
  CHECK(ok.errors.empty());

  ConfigStatus bad = parseConfigStatus(
      R"({"status":"ERROR","metadataAttributesErrors":{"enable-workload-certificate":"invalid value 'yes'"},)"
      R"("partnerMetadataConfigsErrors":{"errors":{"wc.compute.googleapis.com":"trust config missing"}}})");
  CHECK(bad.parsed);
  REQUIRE(bad.errors.size() == 3);
  CHECK(bad.errors[0] == "status: ERROR");
  CHECK(bad.errors[1] ==
        "metadataAttributesErrors.enable-workload-certificate: invalid value 'yes'");
  CHECK(bad.errors[2] ==
        "partnerMetadataConfigsErrors.errors.wc.compute.googleapis.com: trust config missing");

  CHECK(parseConfigStatus(R"({"metadataAttributesErrors":["a","b"]})").errors.size() == 2);
  CHECK(parseConfigStatus(R"({"metadataAttributesErrors":null})").errors.empty());
  CHECK_FALSE(parseConfigStatus("<html>").parsed);
  CHECK_FALSE(parseConfigStatus("[1]").parsed);
}

TEST_CASE("enable-workload-certificate: the guest agent's truths", "[certs]") {
  for (const char* yes : {"true", "TRUE", "True", "1", "t", "T", " true\n"})
    CHECK(attributeIsTrue(yes));
  for (const char* no : {"false", "", "yes", "on", "tru", "0"}) CHECK_FALSE(attributeIsTrue(no));
  CHECK(bodySummary(
            "<html><body><p>Precondition  Failed:\n missing <b>trust</b></p></body></html>") ==
        "Precondition Failed: missing trust");
  CHECK(bodySummary(std::string(300, 'x'), 20).size() == 20);
}
