#include "agent/diagnosis/metadata.hpp"

#include <algorithm>

#include "agent/diagnosis/metadata_call.hpp"

namespace guestpulse {

namespace {

using platform::FixHints;

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string fill(const std::string& text, const MetadataFacts& f) {
  return platform::fillHint(
      text, {{"address", f.metadataAddress}, {"endpoint", f.endpoint}, {"hostname", f.hostname}});
}

MetadataCallContext callContext(const MetadataFacts& f) {
  return {f.endpoint, "GET instance/id", f.metadataAddress, f.hostname};
}

NetworkEvidence networkEvidence(const MetadataFacts& f) {
  return {f.endpoint, f.metadataAddress, f.hostname, f.hosts, f.route, f.firewall, f.proxies};
}

std::string addHostsLine(const MetadataFacts& f, const FixHints& hints) {
  return "add '" + f.metadataAddress + " " + f.hostname + "' to " + hints.hostsFile;
}

// 4. The address answered: is the name fine too?
std::optional<ProbeResult> diagnoseName(const MetadataFacts& f, const FixHints& hints) {
  if (!f.name) return std::nullopt;
  const NameResolution& name = *f.name;
  bool hostsMapsIt = f.hosts && !f.hosts->addresses.empty();
  if (!name.ok()) {
    std::string message = f.hostname + " does not resolve (" + name.describeFailure() + "), but " +
                          f.endpoint + " answers: a DNS/hosts problem, not an outage";
    if (!hostsMapsIt) {
      if (f.hosts && f.hosts->readable)
        message += "; " + f.hosts->path + " has no entry for it";
      else if (f.hosts)
        message += "; " + f.hosts->error;
      return ProbeResult::failed("dns.hosts_mapping_missing", message, addHostsLine(f, hints));
    }
    return ProbeResult::failed(
        "dns.resolve_failed",
        message + "; the hosts file maps it (" + join(f.hosts->matchingLines) + ")",
        fill(hints.hostsFileIgnored, f));
  }
  if (std::find(name.addresses.begin(), name.addresses.end(), f.metadataAddress) ==
      name.addresses.end()) {
    std::string origin =
        hostsMapsIt ? " (from " + join(f.hosts->matchingLines) + ")" : " (from DNS)";
    return ProbeResult::failed(
        "dns.wrong_address",
        f.hostname + " resolves to " + join(name.addresses) + origin + ", not " + f.metadataAddress,
        hostsMapsIt
            ? "correct the hosts file line to '" + f.metadataAddress + " " + f.hostname + "'"
            : "fix the DNS record, or " + addHostsLine(f, hints));
  }
  return std::nullopt;
}

std::optional<ProbeResult> diagnoseResolver(const MetadataFacts& f, const FixHints& hints) {
  if (!f.gce || !f.resolver || !f.resolver->readable) return std::nullopt;
  const auto& r = *f.resolver;
  if (r.localStub && !r.upstreamReadable) return std::nullopt;  // cannot tell; say nothing
  const auto& servers = r.effectiveNameservers();
  if (std::find(servers.begin(), servers.end(), f.metadataAddress) != servers.end())
    return std::nullopt;
  std::string where =
      r.localStub ? r.stubName + " forwards to " + (servers.empty() ? "no server" : join(servers)) +
                        " (" + r.upstreamSource + ")"
                  : r.source + " lists " + (servers.empty() ? "no nameserver" : join(servers));
  return ProbeResult::degraded(
      "dns.nameserver_not_metadata",
      where + ", not " + f.metadataAddress + ": internal names (" + f.hostname +
          ", VM names under .internal) resolve only through the hosts file",
      fill(r.localStub ? hints.restoreNameserverBehindStub : hints.restoreNameserver, f));
}

}  // namespace

ProbeResult diagnoseMetadata(const MetadataFacts& f, const FixHints& hints) {
  const HttpResult& http = f.call.last();
  if (!http.ok()) return diagnoseUnanswered(f.call, callContext(f), networkEvidence(f), hints);
  if (!f.call.flavorOk || http.response->status == 403) {
    // Something other than the metadata server answered: a NAT redirect names itself.
    ProbeResult intercepted = diagnoseMetadataCall(f.call, callContext(f), hints);
    addRedirectEvidence(intercepted, networkEvidence(f));
    return intercepted;
  }
  ProbeResult answer = diagnoseMetadataCall(f.call, callContext(f), hints);
  if (answer.state != State::Ok) return answer;
  // The server answers at the address. Problems left are the ones that hurt other
  // software on the VM: the name, the resolver, the proxy environment.
  if (auto named = diagnoseName(f, hints)) return *named;
  if (auto resolver = diagnoseResolver(f, hints)) return *resolver;
  if (auto proxy = diagnoseProxyExposure(networkEvidence(f), hints)) return *proxy;
  return answer;
}

}  // namespace guestpulse
