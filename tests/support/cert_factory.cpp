#include "tests/support/cert_factory.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <stdexcept>

namespace guestpulse::testing {

struct TestKey::Native {
  EVP_PKEY* key = nullptr;
  ~Native() { EVP_PKEY_free(key); }
};

namespace {

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("cert_factory: ") + what + " failed");
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return out;
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  require(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::string join(const std::vector<std::string>& items, const std::string& prefix) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + prefix + item;
  return out;
}

// Builds and signs a certificate. `issuerCert` null = self-signed with `key`.
std::string makeCertificate(const CertSpec& spec, const TestKey& key, X509* issuerCert,
                            const TestKey* issuerKey) {
  X509* cert = X509_new();
  require(cert != nullptr, "X509_new");
  X509_set_version(cert, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert), static_cast<long>(spec.notBeforeOffset.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(spec.notAfterOffset.count()));
  X509_set_pubkey(cert, key.native()->key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.commonName.c_str()), -1,
                             -1, 0);
  X509* issuer = issuerCert ? issuerCert : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer));

  addExtension(cert, issuer, NID_basic_constraints,
               spec.isCa ? "critical,CA:TRUE" : "critical,CA:FALSE");
  addExtension(
      cert, issuer, NID_key_usage,
      spec.isCa ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment");
  addExtension(cert, issuer, NID_subject_key_identifier, "hash");
  if (issuerCert) addExtension(cert, issuer, NID_authority_key_identifier, "keyid:always");
  std::vector<std::string> usages;
  if (spec.serverAuth) usages.push_back("serverAuth");
  if (spec.clientAuth) usages.push_back("clientAuth");
  if (!usages.empty()) addExtension(cert, issuer, NID_ext_key_usage, join(usages, ""));
  std::string san = join(spec.dnsNames, "DNS:");
  std::string uris = join(spec.uris, "URI:");
  std::string ips = join(spec.ipAddresses, "IP:");
  for (const std::string* part : {&uris, &ips})
    if (!part->empty()) san += (san.empty() ? "" : ",") + *part;
  if (!san.empty()) addExtension(cert, issuer, NID_subject_alt_name, san);

  const TestKey& signer = issuerKey ? *issuerKey : key;
  require(X509_sign(cert, signer.native()->key, EVP_sha256()) > 0, "X509_sign");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  X509_free(cert);
  return bioText(bio);
}

X509* parsePem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  require(cert != nullptr, "PEM_read_bio_X509");
  return cert;
}

}  // namespace

TestKey::TestKey() = default;
TestKey::~TestKey() = default;
TestKey::TestKey(const TestKey&) = default;
TestKey& TestKey::operator=(const TestKey&) = default;

TestKey TestKey::generate() {
  TestKey key;
  key.native_ = std::make_shared<Native>();
  key.native_->key = EVP_EC_gen("P-256");
  require(key.native_->key != nullptr, "EVP_EC_gen");
  return key;
}

std::string TestKey::pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, native_->key, nullptr, nullptr, 0, nullptr, nullptr);
  return bioText(bio);
}

TestCa TestCa::create(const std::string& commonName, std::chrono::seconds notBeforeOffset,
                      std::chrono::seconds notAfterOffset) {
  TestCa ca;
  CertSpec spec;
  spec.commonName = commonName;
  spec.isCa = true;
  spec.notBeforeOffset = notBeforeOffset;
  spec.notAfterOffset = notAfterOffset;
  ca.self_.key = TestKey::generate();
  ca.self_.keyPem = ca.self_.key.pem();
  ca.self_.certPem = makeCertificate(spec, ca.self_.key, nullptr, nullptr);
  return ca;
}

TestCert TestCa::issue(const CertSpec& spec) const { return issue(spec, TestKey::generate()); }

TestCert TestCa::issue(const CertSpec& spec, const TestKey& key) const {
  X509* issuer = parsePem(self_.certPem);
  TestCert cert;
  cert.key = key;
  cert.keyPem = key.pem();
  cert.certPem = makeCertificate(spec, key, issuer, &self_.key);
  X509_free(issuer);
  return cert;
}

TestCa TestCa::intermediate(const std::string& commonName) const {
  CertSpec spec;
  spec.commonName = commonName;
  spec.isCa = true;
  spec.notAfterOffset = std::chrono::hours(24 * 365);
  TestCa ca;
  ca.self_ = issue(spec);
  return ca;
}

CertSpec serverSpec(const std::string& dnsName) {
  CertSpec spec;
  spec.commonName = dnsName;
  spec.dnsNames = {dnsName};
  spec.serverAuth = true;
  return spec;
}

CertSpec clientSpec(const std::string& commonName) {
  CertSpec spec;
  spec.commonName = commonName;
  spec.clientAuth = true;
  return spec;
}

CertSpec workloadSpec(const std::string& spiffeId) {
  CertSpec spec;
  spec.commonName = "workload";
  spec.uris = {spiffeId};
  spec.clientAuth = true;
  spec.serverAuth = true;
  spec.notAfterOffset = std::chrono::hours(23);
  return spec;
}

void writeSecret(const std::filesystem::path& path, const std::string& content) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path.string());
  }
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace guestpulse::testing
