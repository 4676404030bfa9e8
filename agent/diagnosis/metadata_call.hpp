#pragma once
// The cause of one metadata call's outcome (after its retries), with a message naming
// the step and the target and the fix: the classification every caller of the metadata
// server shares (the metadata probe, the mTLS probe, the workload-certificate probe).
// I/O-free; the OS-specific words of each fix come from `hints`.
//
//   transport: resolve → dns.resolve_failed; connect → net.timeout, net.connection_refused,
//              net.no_route, net.connect_failed; handshake → mtls.handshake_failed; read
//              or write → net.timeout, net.connection_reset, mds.bad_response
//   answers:   no Metadata-Flavor: Google, or 403 → proxy.intercepted; 2xx → OK;
//              500/502/503/504 → mds.unavailable; 429 → mds.throttled (DEGRADED);
//              400 → mds.header_rejected; anything else → mds.http_error

#include <string>

#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "platform/fix_hints.hpp"

namespace guestpulse {

struct MetadataCallContext {
  std::string endpoint;                     // "169.254.169.254:80" as dialled
  std::string what;                         // "GET instance/id"
  std::string address = "169.254.169.254";  // the metadata server's address, for fixes
  std::string hostname = "metadata.google.internal";
};

ProbeResult diagnoseMetadataCall(const MetadataResult& call, const MetadataCallContext& context,
                                 const platform::FixHints& hints = platform::fixHints());

// The message part shared by every failure of a call: "GET instance/id: connect to
// 169.254.169.254:80: Connection refused (3 attempts over 2.1s)".
std::string describeCall(const MetadataResult& call, const MetadataCallContext& context);

// " (3 attempts over 2.1s)", or "" for a single attempt.
std::string attemptsNote(const MetadataResult& call);

}  // namespace guestpulse
