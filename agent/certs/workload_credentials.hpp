#pragma once
// The workload identity credentials that Google's guest agent (its workload certificate
// refresher) keeps in /run/secrets/workload-spiffe-credentials/:
//   certificates.pem     the X.509-SVID, leaf first, then intermediates
//   private_key.pem      the leaf's key
//   ca_certificates.pem  the trust anchors of the trust domain
// and the checks an operator would run on them, in the order that names the root
// cause first: present, parseable, key matches, chains to the anchors, dates, rotation.

#include <optional>
#include <string>

#include "agent/certs/certificate.hpp"
#include "agent/certs/pem_file.hpp"
#include "agent/certs/validity.hpp"

namespace guestpulse::certs {

inline constexpr const char* kWorkloadCertificatesFile = "certificates.pem";
inline constexpr const char* kWorkloadPrivateKeyFile = "private_key.pem";
inline constexpr const char* kWorkloadTrustAnchorsFile = "ca_certificates.pem";

struct WorkloadCredentialFiles {
  std::string dir;
  bool dirExists = false;
  PemFile certificates;
  PemFile privateKey;
  PemFile trustAnchors;
};

// Reads the three files (I/O; run it off the event loop).
WorkloadCredentialFiles readWorkloadCredentials(const std::string& dir);

enum class CredentialProblem { None, Missing, Invalid, NotYetValid, Expired, NotRotated, Expiring };

struct WorkloadCredentialsPolicy {
  // A 24 h certificate renewed at half life never gets near 20 % left while rotation works.
  ValidityPolicy validity{0.2, std::chrono::hours(24)};
  // The refresher runs every 10 minutes; allow a missed run or two before calling
  // rotation stopped.
  Duration rotationSlack = std::chrono::minutes(30);
};

struct WorkloadCredentialsFinding {
  CredentialProblem problem = CredentialProblem::None;
  std::string message;                  // names the file and what is wrong; a summary when None
  std::optional<CertificateInfo> leaf;  // when certificates.pem parsed
  ValidityVerdict validity;
  std::optional<Duration> sinceWritten;  // age of certificates.pem
};

// I/O-free: judges what readWorkloadCredentials found, at time `now`.
WorkloadCredentialsFinding inspectWorkloadCredentials(const WorkloadCredentialFiles& files,
                                                      WallTime now,
                                                      const WorkloadCredentialsPolicy& policy = {});

}  // namespace guestpulse::certs
