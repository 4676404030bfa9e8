#pragma once
// Certificates made at test time with OpenSSL (never checked in): a CA, certificates it
// issues for servers, clients and workloads, with any validity window, names and keys.
// EC P-256 keys: generating one takes well under a millisecond.
//
// Times are relative to now: notBefore = now + notBeforeOffset, notAfter = now +
// notAfterOffset, so "expired" is {-48h, -1h} and "not yet valid" is {+1h, +48h}.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace guestpulse::testing {

class TestKey {
 public:
  static TestKey generate();  // EC P-256
  TestKey();
  ~TestKey();
  TestKey(const TestKey&);
  TestKey& operator=(const TestKey&);
  std::string pem() const;  // PKCS#8 "PRIVATE KEY"

  struct Native;
  const Native* native() const { return native_.get(); }

 private:
  std::shared_ptr<Native> native_;
};

struct CertSpec {
  std::string commonName = "test";
  std::vector<std::string> dnsNames;
  std::vector<std::string> uris;
  std::vector<std::string> ipAddresses;
  std::chrono::seconds notBeforeOffset = std::chrono::hours(-1);
  std::chrono::seconds notAfterOffset = std::chrono::hours(24 * 30);
  bool isCa = false;
  bool serverAuth = false;
  bool clientAuth = false;
};

struct TestCert {
  std::string certPem;
  std::string keyPem;
  TestKey key;
  // certPem followed by keyPem: the layout of /run/google-mds-mtls/client.key.
  std::string combinedPem() const { return certPem + keyPem; }
};

class TestCa {
 public:
  // A self-signed root, valid from an hour ago for ten years unless told otherwise.
  static TestCa create(const std::string& commonName,
                       std::chrono::seconds notBeforeOffset = std::chrono::hours(-1),
                       std::chrono::seconds notAfterOffset = std::chrono::hours(24 * 3650));

  // Issues a certificate for `spec`, with a fresh key unless one is given.
  TestCert issue(const CertSpec& spec) const;
  TestCert issue(const CertSpec& spec, const TestKey& key) const;
  // An intermediate CA signed by this one.
  TestCa intermediate(const std::string& commonName) const;

  const std::string& certPem() const { return self_.certPem; }
  const TestCert& self() const { return self_; }

 private:
  TestCert self_;
};

// Shorthands for the metadata server's mTLS.
CertSpec serverSpec(const std::string& dnsName);                    // serverAuth, SAN DNS:<dnsName>
CertSpec clientSpec(const std::string& commonName = "mds-client");  // clientAuth
CertSpec workloadSpec(const std::string& spiffeId);                 // SAN URI, client+server auth

// Writes `content` to `path` (creating parent directories) with mode 0600.
void writeSecret(const std::filesystem::path& path, const std::string& content);

}  // namespace guestpulse::testing
