// The layered diagnosis of the metadata server: from what the HTTP call did, then the
// evidence gathered beside it (route, firewall, name, hosts file, resolver, proxy), to
// one cause with a message and a fix, the way a person following the providers'
// troubleshooting guides would reason.

#include <algorithm>

#include <boost/asio/error.hpp>

#include "agent/probes/metadata_diagnosis.hpp"
#include "agent/probes/metadata_facts.hpp"

namespace guestpulse {

namespace asio = boost::asio;

namespace {

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

const platform::FirewallFinding* firstFinding(const std::optional<platform::FirewallFacts>& fw,
                                              platform::FirewallAction action) {
  if (!fw) return nullptr;
  for (const auto& finding : fw->blocking)
    if (finding.action == action) return &finding;
  return nullptr;
}

void addFirewallEvidence(ProbeResult& result, const platform::FirewallFinding& finding) {
  result.message += "; firewall rule: " + finding.describe();
  if (!finding.fixCommand.empty())
    result.fix = "remove the rule: " + finding.fixCommand +
                 (finding.exemptedBy.empty()
                      ? ""
                      : " (an earlier rule may exempt some traffic: " + finding.exemptedBy + ")");
  result.details.emplace_back("firewall_rule", finding.ruleText);
}

// Connect failed or timed out: the route and the firewall say why.
void refineNetworkFailure(const MetadataFacts& f, ProbeResult& result) {
  if (f.route && !f.route->found() && f.route->status != platform::RouteStatus::LookupFailed) {
    result.state = State::Failed;
    result.cause = "net.no_route";
    result.message += "; route to " + f.route->destination + ": " + toString(f.route->status) +
                      (f.route->error.empty() ? "" : " (" + f.route->error + ")");
    result.fix = "restore the route to the metadata server (ip route get " + f.route->destination +
                 "; it normally goes via the primary NIC's gateway or on-link). On Windows: "
                 "route /p add 169.254.169.254 mask 255.255.255.255 <gateway>";
    return;
  }
  if (result.cause == "net.connection_refused") {
    if (const auto* reject = firstFinding(f.firewall, platform::FirewallAction::Reject))
      addFirewallEvidence(result, *reject);
    else if (f.firewall && !f.firewall->readable)
      result.message += "; firewall rules not readable (" + f.firewall->error + ")";
  } else if (result.cause == "net.timeout") {
    if (const auto* drop = firstFinding(f.firewall, platform::FirewallAction::Drop))
      addFirewallEvidence(result, *drop);
    else if (f.firewall && !f.firewall->readable)
      result.message += "; firewall rules not readable (" + f.firewall->error + ")";
  }
  if (f.route && f.route->found() && !f.route->interface.empty())
    result.details.emplace_back(
        "route",
        "dev " + f.route->interface + (f.route->gateway.empty() ? "" : " via " + f.route->gateway));
}

// The address answered: is the name fine too?
std::optional<ProbeResult> diagnoseName(const MetadataFacts& f) {
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
      return ProbeResult::failed(
          "dns.hosts_mapping_missing", message,
          "add '" + f.metadataAddress + " " + f.hostname + "' to /etc/hosts");
    }
    return ProbeResult::failed(
        "dns.resolve_failed",
        message + "; the hosts file maps it (" + join(f.hosts->matchingLines) + ")",
        "the system resolver skips the hosts file: check the 'hosts:' line of /etc/nsswitch.conf "
        "lists 'files'");
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
            : "fix the DNS record, or add '" + f.metadataAddress + " " + f.hostname +
                  "' to /etc/hosts");
  }
  return std::nullopt;
}

std::optional<ProbeResult> diagnoseResolver(const MetadataFacts& f) {
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
      std::string("restore 'nameserver ") + f.metadataAddress +
          "' (GCE hands it out by DHCP): check the DHCP client, NetworkManager or netplan DNS "
          "settings" +
          (r.localStub ? " and 'resolvectl dns'" : ""));
}

std::optional<ProbeResult> diagnoseProxy(const MetadataFacts& f) {
  if (f.proxies.empty()) return std::nullopt;
  const ProxyExposure& p = f.proxies.front();
  return ProbeResult::degraded(
      "proxy.no_proxy_missing",
      p.variable + "=" + p.proxy + " (" + p.source + ") would send " + join(p.targets) +
          " through the proxy, and no_proxy does not exempt them; guestpulse goes direct, "
          "other software on this VM will fail or be refused",
      "add " + f.metadataAddress + "," + f.hostname + " to no_proxy and NO_PROXY (" + p.source +
          ")");
}

}  // namespace

std::vector<ProxyExposure> findProxyExposures(const platform::ProxyFacts& facts,
                                              const std::string& hostname,
                                              const std::string& address) {
  std::vector<ProxyExposure> exposures;
  for (const auto& source : facts.sources) {
    if (!source.readable || source.variables.empty()) continue;
    ProxyEnvironment environment(source.variables);
    auto through = environment.metadataRequestsThroughProxy({address, hostname});
    if (through.empty()) continue;
    ProxyExposure exposure;
    exposure.source = source.name;
    exposure.variable = through.front().proxy.variable;
    exposure.proxy = through.front().proxy.value;
    for (const auto& request : through) {
      std::string target = request.scheme + "://" + request.host;
      if (std::find(exposure.targets.begin(), exposure.targets.end(), target) ==
          exposure.targets.end())
        exposure.targets.push_back(target);
    }
    exposures.push_back(std::move(exposure));
  }
  return exposures;
}

ProbeResult diagnoseMetadata(const MetadataFacts& f) {
  ProbeResult call = diagnoseMetadataCall(f.call, {f.endpoint, "GET instance/id"});
  if (call.state != State::Ok) {
    if (call.cause.starts_with("net.")) refineNetworkFailure(f, call);
    if (call.cause == "proxy.intercepted" && f.firewall && !f.firewall->redirecting.empty()) {
      call.message += "; NAT rule: " + f.firewall->redirecting.front().describe();
      if (!f.firewall->redirecting.front().fixCommand.empty())
        call.fix = "remove the redirect: " + f.firewall->redirecting.front().fixCommand;
    }
    if (call.cause == "dns.resolve_failed" && f.hosts && f.hosts->readable &&
        f.hosts->addresses.empty()) {
      // The endpoint itself is the name, and the hosts file does not map it.
      call.cause = "dns.hosts_mapping_missing";
      call.message += "; " + f.hosts->path + " has no entry for " + f.hostname;
      call.fix = "add '" + f.metadataAddress + " " + f.hostname + "' to /etc/hosts";
    }
    return call;
  }
  // The server answers at the address. Problems left are the ones that hurt other
  // software on the VM: the name, the resolver, the proxy environment.
  if (auto named = diagnoseName(f)) return *named;
  if (auto resolver = diagnoseResolver(f)) return *resolver;
  if (auto proxy = diagnoseProxy(f)) return *proxy;
  return call;
}

}  // namespace guestpulse
