#pragma once
// The layered diagnosis of the metadata server: from what the HTTP call did and the
// evidence gathered beside it (route, firewall, name, hosts file, resolver, proxy) to one
// cause with a message and a fix, the way a person following the providers'
// troubleshooting guides would reason. The network layers (1, 2 and the proxy check of 4)
// are the ones every provider shares (network_layers.hpp). I/O-free: MetadataFacts holds everything
// the metadata probe found out in one run; layers that were not looked at stay empty.
//
// The order of reasoning:
//  1. the call failed: the route says there is none → net.no_route; the name did not
//     resolve and the hosts file lacks it → dns.hosts_mapping_missing; otherwise the
//     call's own cause (metadata_call.hpp), with the firewall rule that explains a
//     refused (REJECT) or timed-out (DROP) connection quoted and its removal as the fix;
//  2. the answer did not come from the metadata server (no Metadata-Flavor, or 403):
//     proxy.intercepted, with a NAT redirect rule quoted when one exists;
//  3. any other non-OK answer: the call's cause (mds.*);
//  4. the server answers at its address, but other software on the VM is hurt: the name
//     fails to resolve (dns.hosts_mapping_missing, dns.resolve_failed), resolves elsewhere
//     (dns.wrong_address), the resolver does not use the metadata server
//     (dns.nameserver_not_metadata, GCE, DEGRADED), or a proxy variable would catch
//     metadata requests (proxy.no_proxy_missing, DEGRADED).

#include <optional>
#include <string>
#include <vector>

#include "agent/diagnosis/network_layers.hpp"
#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "agent/net/name_resolution.hpp"
#include "platform/fix_hints.hpp"
#include "platform/host_facts.hpp"

namespace guestpulse {

struct MetadataFacts {
  std::string endpoint;         // "169.254.169.254:80" as dialled
  std::string endpointAddress;  // the IPv4 address dialled, when known
  std::string hostname;         // metadata.hostname: "metadata.google.internal"
  std::string metadataAddress = "169.254.169.254";
  bool gce = true;  // GCE-only checks (resolver pointing at the metadata server)

  MetadataResult call;  // GET instance/id at the endpoint
  std::optional<NameResolution> name;
  std::optional<platform::HostsFacts> hosts;
  std::optional<platform::ResolverFacts> resolver;
  std::optional<platform::RouteFacts> route;
  std::optional<platform::FirewallFacts> firewall;
  std::vector<ProxyExposure> proxies;  // sources that would send metadata requests via a proxy
};

// The diagnosis: one cause, a message naming the step and target, and the fix.
ProbeResult diagnoseMetadata(const MetadataFacts& facts,
                             const platform::FixHints& hints = platform::fixHints());

}  // namespace guestpulse
