#pragma once
// X.509 certificates and private keys parsed from PEM text, and the checks an operator
// would run with `openssl x509 -text`, `openssl verify` and `openssl x509 -modulus`:
// what a certificate is for and when it is valid, whether a key belongs to it, whether
// it chains to a set of trust anchors.
//
// No I/O: callers read the files (pem_file.hpp). OpenSSL stays inside certificate.cpp;
// the parsed objects are held behind an opaque, shared handle so the types copy cheaply.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/duration.hpp"

struct x509_st;  // OpenSSL's X509, for the one bridge below

namespace guestpulse::certs {

struct CertificateInfo {
  std::string subject;  // one line, RFC 2253 order: "CN=a,O=b"
  std::string issuer;
  std::vector<std::string> dnsNames;     // subjectAltName dNSName entries
  std::vector<std::string> uris;         // subjectAltName URIs (SPIFFE IDs)
  std::vector<std::string> ipAddresses;  // subjectAltName iPAddress entries
  WallTime notBefore{};
  WallTime notAfter{};
  bool isCa = false;

  Duration lifetime() const;
  // The name an operator knows it by: the first URI, else the first DNS name, else the
  // subject.
  std::string name() const;
};

// The certificates in a PEM text, in order (other PEM blocks, such as a private key,
// are skipped). Not ok() when the text holds no certificate or a damaged one.
class CertificateSet {
 public:
  CertificateSet();
  ~CertificateSet();
  CertificateSet(const CertificateSet&);
  CertificateSet& operator=(const CertificateSet&);

  // `origin` names the source (a path) in error messages.
  static CertificateSet parse(std::string_view pem, std::string_view origin);

  bool ok() const { return error_.empty(); }
  // "no PEM certificate in /run/x/root.crt", "/run/x/root.crt: certificate #2: bad base64 decode"
  const std::string& error() const { return error_; }
  const std::vector<CertificateInfo>& certificates() const { return infos_; }
  bool empty() const { return infos_.empty(); }

  struct Native;
  const Native* native() const { return native_.get(); }

 private:
  std::shared_ptr<const Native> native_;
  std::vector<CertificateInfo> infos_;
  std::string error_;
};

// The first private key in a PEM text. Encrypted keys are refused (the agent has no
// passphrase and must never prompt for one).
class PrivateKey {
 public:
  PrivateKey();
  ~PrivateKey();
  PrivateKey(const PrivateKey&);
  PrivateKey& operator=(const PrivateKey&);

  static PrivateKey parse(std::string_view pem, std::string_view origin);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& type() const { return type_; }  // "RSA-2048", "EC-256"

  struct Native;
  const Native* native() const { return native_.get(); }

 private:
  std::shared_ptr<const Native> native_;
  std::string type_;
  std::string error_;
};

// Whether `key` is the private key of the first certificate in `certs`. False when
// either is empty or not ok().
bool keyMatches(const CertificateSet& certs, const PrivateKey& key);

struct ChainVerdict {
  bool ok = false;
  int code = 0;       // OpenSSL's X509_V_ERR_* (0 when ok)
  int depth = 0;      // where in the chain it failed (0 = the leaf)
  std::string error;  // "unable to get local issuer certificate"
};

// The facts of a certificate OpenSSL already holds (e.g. the peer's, in a TLS verify
// callback). The bridge for agent/net; an empty info for nullptr.
CertificateInfo describeCertificate(const x509_st* cert);

// Verifies the first certificate of `chain` (the rest are untrusted intermediates)
// against `anchors` as trust anchors (a trust bundle: an anchor need not be
// self-signed). Validity dates are NOT checked here, so that expiry can be named by
// itself (see validity.hpp).
ChainVerdict verifyChain(const CertificateSet& chain, const CertificateSet& anchors);

}  // namespace guestpulse::certs
