#pragma once
// The diagnosis of GCE workload identity certificates (the workload_certs probe),
// I/O-free and step by step: assessWorkloadCerts() looks at what has been found so far
// and either names the next thing to find out (the instance attribute, config-status,
// the credential files) or gives the verdict. The probe only performs the steps.
//
// Google's guest agent polls config-status every 10 minutes and logs an error on every
// 404, on every VM that never enabled the feature. This does not cry wolf:
//  - `auto` first reads the instance attribute enable-workload-certificate and, unless
//    it is true, asks nothing of gce-workload-certificates/;
//  - config-status 404 is workload_certs.not_configured, an INFO finding on an OK state;
//  - when the metadata server cannot be asked (down, throttled, intercepted) there is no
//    verdict (`unreachable`): that outage is the metadata probe's to report, and the probe
//    keeps its previous verdict instead of flapping.
// Causes: workload_certs.not_configured (OK, INFO), .misconfigured (412, or 200 with
// errors), .bad_response (an answer that cannot be read: over the size limit, bad
// chunking, not HTTP, or a 200 that is not a JSON object), .credentials_missing, .invalid (damaged,
// key mismatch, does not chain to the trust anchors, not yet valid), .expired, .expiring and
// .not_rotated (DEGRADED), agent.tls_unavailable, and the metadata call causes for other answers.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/certs/workload_credentials.hpp"
#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "platform/fix_hints.hpp"

namespace guestpulse {

inline constexpr const char* kWorkloadCertAttribute =
    "instance/attributes/enable-workload-certificate";
inline constexpr const char* kWorkloadConfigStatus =
    "instance/gce-workload-certificates/config-status";

struct WorkloadCertsFacts {
  std::string endpoint;      // "169.254.169.254:80", for messages
  bool askAttribute = true;  // enabled: auto — the attribute decides whether to look
  std::optional<MetadataResult> attribute;     // GET kWorkloadCertAttribute
  std::optional<MetadataResult> configStatus;  // GET kWorkloadConfigStatus
  std::string credentialsDir;                  // /run/secrets/workload-spiffe-credentials
  bool credentialsLooked = false;              // the files step ran
  bool credentialsTimedOut = false;            // ... and did not finish within its deadline
  Duration fileDeadline{0};
  std::string tlsProblem;  // OpenSSL could not be loaded (platform::tlsLibraryProblem())
  std::optional<certs::WorkloadCredentialsFinding> credentials;
};

enum class WorkloadStep { Attribute, ConfigStatus, Credentials, Verdict };

struct WorkloadCertsAssessment {
  WorkloadStep next = WorkloadStep::Verdict;
  ProbeResult result;  // the verdict, when next == Verdict
  // The metadata server could not be asked: `result` is only a placeholder ("not
  // checked yet"), and `why` says what happened.
  bool unreachable = false;
  std::string why;
};

WorkloadCertsAssessment assessWorkloadCerts(const WorkloadCertsFacts& facts,
                                            const platform::FixHints& hints = platform::fixHints());

// The body of a 200 config-status, read tolerantly: unknown fields are ignored; every
// string found under a member whose name contains "error" is an error, reported as
// "<path>: <message>"; a `status` mentioning an error or failure is one too.
struct ConfigStatus {
  bool parsed = false;  // the body was a JSON object
  std::string problem;  // why not: "not valid JSON (...)", "JSON nested deeper than 32 levels"
  std::string status;   // the `status` member, if any
  std::vector<std::string> errors;  // the first 20
  std::size_t moreErrors = 0;       // errors past those
};
ConfigStatus parseConfigStatus(std::string_view body);

// The instance attribute's value as the guest agent reads it (Go's strconv.ParseBool
// truths: 1, t, T, TRUE, true, True), surrounding whitespace ignored.
bool attributeIsTrue(std::string_view value);

// A server's answer body as one short line: HTML tags dropped, whitespace collapsed,
// at most `limit` characters.
std::string bodySummary(std::string_view body, std::size_t limit = 200);

}  // namespace guestpulse
