#pragma once
// Everything the metadata probe found out in one run, layer by layer: the HTTP call to
// the endpoint's address, the name, the hosts file, the resolver, the route, the
// firewall and the proxy environment. Layers that were not looked at stay empty. The
// classifier (diagnoseMetadata) reads only this struct, so it is tested without I/O.

#include <optional>
#include <string>
#include <vector>

#include "agent/diagnosis/proxy_rules.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/name_resolver.hpp"
#include "platform/inspector.hpp"

namespace guestpulse {

struct ProxyExposure {
  std::string source;                // "process environment", "/etc/environment"
  std::string variable;              // "http_proxy"
  std::string proxy;                 // "http://10.0.0.5:3128"
  std::vector<std::string> targets;  // "http://metadata.google.internal", "http://169.254.169.254"
};

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

// Which proxy settings would catch metadata requests, per source.
std::vector<ProxyExposure> findProxyExposures(const platform::ProxyFacts& facts,
                                              const std::string& hostname,
                                              const std::string& address);

// The diagnosis: one cause, a message naming the step and target, and the fix.
ProbeResult diagnoseMetadata(const MetadataFacts& facts);

}  // namespace guestpulse
