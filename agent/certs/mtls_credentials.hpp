#pragma once
// The files of mTLS to the metadata server, as Google's guest agent writes them:
//   root.crt    the CA that signs the metadata server's certificate (curl --cacert)
//   client.key  the client certificate and its private key in one PEM (curl --cert/--key)
// and what can be told about them before connecting: readable, parseable, key matching,
// and the client certificate's dates.

#include <optional>
#include <string>

#include "agent/certs/certificate.hpp"
#include "agent/certs/pem_file.hpp"
#include "agent/certs/validity.hpp"

namespace guestpulse::certs {

struct MtlsCredentialFiles {
  PemFile rootCa;
  PemFile client;
};

// Reads both files (I/O; run it off the event loop).
MtlsCredentialFiles readMtlsCredentials(const std::string& rootCa, const std::string& client);

enum class MtlsFileProblem { None, CaMissing, ClientMissing, ClientExpired, ClientNotYetValid };

struct MtlsCredentialsFinding {
  MtlsFileProblem problem = MtlsFileProblem::None;
  std::string message;                    // names the file and what is wrong
  std::optional<CertificateInfo> client;  // when the client certificate parsed
  std::size_t caCertificates = 0;
  ValidityVerdict validity;  // of the client certificate (Expiring is a warning)
};

// The client certificate of the metadata server's mTLS warns within 20 % of its
// lifetime, at most 7 days before it expires.
inline const ValidityPolicy kMtlsClientValidity{0.2, std::chrono::hours(24 * 7)};

// I/O-free. CaMissing covers a missing, unreadable or unparseable CA file (curl error
// 77); ClientMissing a missing, unreadable or unparseable client certificate or key, or
// a key that does not match (curl error 58).
MtlsCredentialsFinding inspectMtlsCredentials(const MtlsCredentialFiles& files, WallTime now,
                                              const ValidityPolicy& policy = kMtlsClientValidity);

}  // namespace guestpulse::certs
