#pragma once
// The diagnosis of Azure's Instance Metadata Service, from what one run of the Azure probe
// did to one cause with a message and a fix, as Microsoft's "Azure Instance Metadata
// Service" page and its error table reason. I/O-free; the network layers are the ones
// every provider shares (network_layers.hpp).
//
// A run: GET /metadata/instance?api-version=<pinned> with `Metadata: true`, retried per
// RetryPolicy, which for IMDS also retries 404 and 410 (the service is being updated).
//
//   no answer:  the network layers (net.*, dns.*)
//   400         azure_imds.bad_request (the header or api-version did not arrive as sent,
//               or a proxy added X-Forwarded-For; the server's own words are quoted)
//   410 / 404   azure_imds.updating / azure_imds.not_found: DEGRADED while such answers
//               have lasted less than kAzureUpdatingGrace (Microsoft: retry for up to
//               70 s), FAILED after
//   429         azure_imds.throttled (DEGRADED)
//   5xx         azure_imds.unavailable
//   other       azure_imds.http_error (proxy.intercepted when a NAT rule redirects)
//   OK, then:   a proxy variable other software would use for 169.254.169.254
//               → proxy.no_proxy_missing (DEGRADED)

#include <string>

#include "agent/core/duration.hpp"
#include "agent/diagnosis/network_layers.hpp"
#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "platform/fix_hints.hpp"

namespace guestpulse {

// The api-version guestpulse asks for: one every Azure region serves.
inline constexpr const char* kAzureApiVersion = "2021-02-01";
// How long IMDS may answer 404/410 while it is updated before that is a failure.
inline constexpr Duration kAzureUpdatingGrace = std::chrono::seconds(70);

struct AzureFacts {
  NetworkEvidence network;  // network.hostname stays empty: IMDS is reached by address
  MetadataResult call;      // GET /metadata/instance?api-version=...
  // How long 404/410 answers have lasted, across runs, up to the end of this one.
  Duration updatingFor{0};
};

ProbeResult diagnoseAzure(const AzureFacts& facts,
                          const platform::FixHints& hints = platform::fixHints());

// The target the Azure probe GETs: "/metadata/instance?api-version=2021-02-01".
std::string azureInstanceTarget();

}  // namespace guestpulse
