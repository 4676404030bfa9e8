#pragma once
// The diagnosis of EC2's instance metadata service (IMDSv2), from what one run of the EC2
// probe did to one cause with a message and a fix, as AWS's "Use IMDSv2" guide and its
// response-code table reason. I/O-free; the network layers are the ones every provider
// shares (network_layers.hpp).
//
// A run: PUT /latest/api/token (unless a cached token is still good), then
// GET /latest/meta-data/instance-id with the token; a cached token answered 401 is
// renewed once. There is never a silent downgrade to IMDSv1: when the token PUT gets no
// answer, a plain TCP connect and one GET without a token are evidence, not a fallback.
//
//   token PUT, no answer:   connect/resolve failures → the network layers (net.*, dns.*);
//                           a timeout while TCP connects and a GET without a token is
//                           answered → imds.hop_limit (the PUT answer died at its hop
//                           limit); timeouts after 429s → imds.throttled; else the layers
//   token PUT, answered:    400 → imds.bad_token_request; 403 → imds.disabled (or
//                           proxy.intercepted when a NAT rule redirects the address);
//                           404 → imds.not_found; 429 → imds.throttled (DEGRADED);
//                           5xx → imds.unavailable; else imds.http_error
//   GET with the token:     the network layers; 401 with a fresh token →
//                           imds.token_rejected; 403, 404, 429, 5xx as above
//   OK, then:               a proxy variable other software would use for 169.254.169.254
//                           → proxy.no_proxy_missing (DEGRADED; fix NO_PROXY=169.254.169.254)

#include <optional>
#include <string>

#include "agent/diagnosis/network_layers.hpp"
#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "platform/fix_hints.hpp"

namespace guestpulse {

inline constexpr const char* kEc2TokenPath = "/latest/api/token";
inline constexpr const char* kEc2InstanceIdPath = "/latest/meta-data/instance-id";

struct Ec2Facts {
  NetworkEvidence network;  // network.hostname stays empty: IMDS is reached by address
  // The token PUT of this run; absent when a cached token was used.
  std::optional<MetadataResult> token;
  // GET meta-data/instance-id with the token; absent when no token was had.
  std::optional<MetadataResult> get;
  bool tokenFresh = true;            // the GET's token was issued in this run
  bool cachedTokenRejected = false;  // a cached token was answered 401 and renewed once
  // Only after a token PUT without an answer: plain TCP to the endpoint, and one GET
  // without a token (evidence that GETs are answered; never used as a fallback).
  std::optional<HttpResult> tcp;
  std::optional<MetadataResult> tokenless;
  std::string instanceId;  // known from an earlier answer, for the fixes; may be empty
};

ProbeResult diagnoseEc2(const Ec2Facts& facts,
                        const platform::FixHints& hints = platform::fixHints());

}  // namespace guestpulse
