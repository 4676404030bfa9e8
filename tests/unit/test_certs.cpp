// Certificate inspection (agent/certs) on certificates generated at test time.

#include <catch2/catch.hpp>

#include "agent/certs/certificate.hpp"
#include "agent/certs/validity.hpp"
#include "tests/support/cert_factory.hpp"

using namespace guestpulse;
using namespace guestpulse::certs;
using namespace guestpulse::testing;
using namespace std::chrono_literals;

TEST_CASE("certificates: names, dates and CA flag are read from PEM", "[certs]") {
  TestCa ca = TestCa::create("Test Root");
  CertSpec spec = serverSpec("metadata.google.internal");
  spec.ipAddresses = {"169.254.169.254"};
  spec.notAfterOffset = 48h;
  TestCert server = ca.issue(spec);

  CertificateSet set = CertificateSet::parse(server.certPem + ca.certPem(), "chain.pem");
  REQUIRE(set.ok());
  REQUIRE(set.certificates().size() == 2);
  const CertificateInfo& leaf = set.certificates()[0];
  CHECK(leaf.subject == "CN=metadata.google.internal");
  CHECK(leaf.issuer == "CN=Test Root");
  CHECK(leaf.dnsNames == std::vector<std::string>{"metadata.google.internal"});
  CHECK(leaf.ipAddresses == std::vector<std::string>{"169.254.169.254"});
  CHECK_FALSE(leaf.isCa);
  CHECK(set.certificates()[1].isCa);
  CHECK(std::chrono::abs(leaf.lifetime() - Duration(49h)) <= 1s);  // may straddle a second
  CHECK(leaf.name() == "metadata.google.internal");
  auto skew = leaf.notAfter - (WallClock::now() + 48h);
  CHECK(std::chrono::abs(skew) < 1min);

  TestCert workload = ca.issue(workloadSpec("spiffe://pool.global.p.workload.id.goog/ns/a/sa/b"));
  CertificateSet w = CertificateSet::parse(workload.certPem, "certificates.pem");
  REQUIRE(w.ok());
  CHECK(w.certificates()[0].name() == "spiffe://pool.global.p.workload.id.goog/ns/a/sa/b");
}

TEST_CASE("certificates: empty, foreign and damaged PEM are told apart", "[certs]") {
  TestCa ca = TestCa::create("Root");
  CHECK(CertificateSet::parse("", "/x/root.crt").error() == "no PEM certificate in /x/root.crt");
  CHECK(CertificateSet::parse("hello\n", "/x/root.crt").error() ==
        "no PEM certificate in /x/root.crt");
  // A key alone is not a certificate.
  CHECK(CertificateSet::parse(ca.self().keyPem, "k.pem").error() == "no PEM certificate in k.pem");

  std::string damaged = ca.certPem();
  damaged[damaged.size() / 2] = '!';
  CertificateSet bad = CertificateSet::parse(damaged, "/x/root.crt");
  CHECK_FALSE(bad.ok());
  CHECK_THAT(bad.error(), Catch::StartsWith("/x/root.crt: certificate #1 is damaged ("));

  // A good certificate followed by a damaged one: the second is named.
  CertificateSet second = CertificateSet::parse(ca.certPem() + damaged, "b.pem");
  CHECK_THAT(second.error(), Catch::StartsWith("b.pem: certificate #2 is damaged"));
}

TEST_CASE("private keys: parsed in any order beside the certificate, matched to it", "[certs]") {
  TestCa ca = TestCa::create("Root");
  TestCert client = ca.issue(clientSpec());
  TestCert other = ca.issue(clientSpec("other"));

  for (const std::string& pem : {client.certPem + client.keyPem, client.keyPem + client.certPem}) {
    CertificateSet certs = CertificateSet::parse(pem, "client.key");
    PrivateKey key = PrivateKey::parse(pem, "client.key");
    REQUIRE(certs.ok());
    REQUIRE(key.ok());
    CHECK(key.type() == "EC-256");
    CHECK(keyMatches(certs, key));
  }
  CertificateSet certs = CertificateSet::parse(client.certPem, "c.pem");
  CHECK_FALSE(keyMatches(certs, PrivateKey::parse(other.keyPem, "k.pem")));
  CHECK(PrivateKey::parse(client.certPem, "c.pem").error() == "no PEM private key in c.pem");
  CHECK(PrivateKey::parse(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "e.pem")
            .error() == "the private key in e.pem is encrypted");
  std::string damaged = client.keyPem;
  damaged[damaged.size() / 2] = '!';
  CHECK_THAT(PrivateKey::parse(damaged, "d.pem").error(),
             Catch::StartsWith("the private key in d.pem is damaged"));
}

TEST_CASE("chains: verified to trust anchors through intermediates, dates ignored", "[certs]") {
  TestCa root = TestCa::create("Root");
  TestCa intermediate = root.intermediate("Intermediate");
  TestCert leaf = intermediate.issue(workloadSpec("spiffe://td/ns/a"));
  CertificateSet anchors = CertificateSet::parse(root.certPem(), "ca.pem");

  CHECK(verifyChain(CertificateSet::parse(leaf.certPem + intermediate.certPem(), "c.pem"), anchors)
            .ok);
  // Without the intermediate the issuer is unknown.
  ChainVerdict missing = verifyChain(CertificateSet::parse(leaf.certPem, "c.pem"), anchors);
  CHECK_FALSE(missing.ok);
  CHECK(missing.error == "unable to get local issuer certificate");
  // An intermediate as the anchor is enough (a trust bundle, not only roots).
  CHECK(verifyChain(CertificateSet::parse(leaf.certPem, "c.pem"),
                    CertificateSet::parse(intermediate.certPem(), "i.pem"))
            .ok);
  // Another CA's anchors.
  TestCa stranger = TestCa::create("Stranger");
  CHECK_FALSE(verifyChain(CertificateSet::parse(leaf.certPem + intermediate.certPem(), "c.pem"),
                          CertificateSet::parse(stranger.certPem(), "s.pem"))
                  .ok);
  // Expired, but the chain itself is fine: expiry is judged separately.
  CertSpec old = workloadSpec("spiffe://td/old");
  old.notBeforeOffset = -48h;
  old.notAfterOffset = -24h;
  CHECK(verifyChain(CertificateSet::parse(root.issue(old).certPem, "c.pem"), anchors).ok);
}

TEST_CASE("validity: expired, not yet valid, expiring within 20% capped", "[certs]") {
  const WallTime start = WallClock::now();
  const ValidityPolicy policy{0.2, 24h};
  auto at = [&](Duration lifetime, Duration since) {
    return assessValidity(start, start + lifetime, start + since, policy);
  };
  CHECK(at(24h, -1min).validity == Validity::NotYetValid);
  CHECK(at(24h, -1min).startsIn == 1min);
  CHECK(at(24h, 24h).validity == Validity::Expired);
  CHECK(at(24h, 25h).remaining == -1h);
  // 24 h certificate: warns under 4.8 h left, not at half life.
  CHECK(at(24h, 12h).validity == Validity::Valid);
  CHECK(at(24h, 19h).validity == Validity::Valid);
  CHECK(at(24h, 20h).validity == Validity::Expiring);
  CHECK(at(24h, 20h).warnWithin == Duration(std::chrono::minutes(288)));
  // One year: the cap applies, the last 24 h.
  CHECK(at(24h * 365, 24h * 363).validity == Validity::Valid);
  CHECK(at(24h * 365, 24h * 364 + 1h).validity == Validity::Expiring);
  CHECK(at(24h * 365, 24h * 364 + 1h).warnWithin == 24h);

  CHECK_FALSE(rotationStalled(start, 24h, start + 12h, 30min));
  CHECK(rotationStalled(start, 24h, start + 12h + 31min, 30min));
  CHECK_FALSE(rotationStalled(start, Duration(0), start + 100h, 30min));
}
