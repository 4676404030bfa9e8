#pragma once
// The network layers of a metadata diagnosis, shared by every provider (GCE, EC2, Azure):
// how a person reasons about a metadata call that got no answer, an answer that came from
// something else, and a proxy environment that would catch metadata requests. I/O-free;
// the facts are gathered by the probes (route, firewall, hosts file, proxy variables).
//
//  - unanswered: the kernel has no route → net.no_route; the endpoint is a name that does
//    not resolve and the hosts file lacks it → dns.hosts_mapping_missing; otherwise the
//    call's transport cause (metadata_call.hpp) with the firewall rule behind a refused
//    (REJECT) or timed-out (DROP) connection quoted and its removal as the fix, or, with
//    no rule found, which listings could not be read;
//  - intercepted: the NAT rule that redirects metadata traffic, quoted, and its removal;
//  - proxy exposure: a proxy variable that other software would use for metadata requests
//    → proxy.no_proxy_missing (DEGRADED), fixed with NO_PROXY.

#include <optional>
#include <string>
#include <vector>

#include "agent/diagnosis/metadata_call.hpp"
#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "platform/fix_hints.hpp"
#include "platform/host_facts.hpp"

namespace guestpulse {

struct ProxyExposure {
  std::string source;                // "process environment", "/etc/environment"
  std::string variable;              // "http_proxy"
  std::string proxy;                 // "http://10.0.0.5:3128"
  std::vector<std::string> targets;  // "http://metadata.google.internal", "http://169.254.169.254"
};

// Which proxy settings would catch requests to any of `hosts` (http on 80, https on 443),
// per source. Empty host names are skipped.
std::vector<ProxyExposure> findProxyExposures(const platform::ProxyFacts& facts,
                                              const std::vector<std::string>& hosts);
// The same for the metadata server's name and address.
std::vector<ProxyExposure> findProxyExposures(const platform::ProxyFacts& facts,
                                              const std::string& hostname,
                                              const std::string& address);

// What was found beside a metadata call; layers that were not looked at stay empty.
struct NetworkEvidence {
  std::string endpoint;                             // "169.254.169.254:80" as dialled
  std::string metadataAddress = "169.254.169.254";  // the provider's address, for fixes
  std::string hostname;  // the metadata name (GCE's); empty where the provider has none
  std::optional<platform::HostsFacts> hosts;  // the endpoint's name, when it did not resolve
  std::optional<platform::RouteFacts> route;
  std::optional<platform::FirewallFacts> firewall;
  std::vector<ProxyExposure> proxies;
};

// A call that got no HTTP answer, explained with the evidence.
ProbeResult diagnoseUnanswered(const MetadataResult& call, const MetadataCallContext& context,
                               const NetworkEvidence& evidence,
                               const platform::FixHints& hints = platform::fixHints());

// Adds the NAT rule that redirects metadata traffic (if one was found) to an
// interception result: quoted in the message, its removal as the fix.
void addRedirectEvidence(ProbeResult& result, const NetworkEvidence& evidence);

// proxy.no_proxy_missing when a proxy variable would catch metadata requests of other
// software on the VM; nullopt otherwise.
std::optional<ProbeResult> diagnoseProxyExposure(
    const NetworkEvidence& evidence, const platform::FixHints& hints = platform::fixHints());

}  // namespace guestpulse
