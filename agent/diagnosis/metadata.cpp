#include "agent/diagnosis/metadata.hpp"

#include <algorithm>

#include "agent/diagnosis/metadata_call.hpp"
#include "agent/diagnosis/proxy_rules.hpp"

namespace guestpulse {

namespace {

using platform::FirewallAction;
using platform::FirewallFinding;
using platform::FixHints;

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string fill(const std::string& text, const MetadataFacts& f, const FixHints& hints) {
  const bool knownInterface = f.route && !f.route->defaultRouteInterface.empty();
  return platform::fillHint(text, {{"address", f.metadataAddress},
                                   {"endpoint", f.endpoint},
                                   {"hostname", f.hostname},
                                   {"interface", knownInterface ? f.route->defaultRouteInterface
                                                                : hints.unknownInterface}});
}

MetadataCallContext callContext(const MetadataFacts& f) {
  return {f.endpoint, "GET instance/id", f.metadataAddress, f.hostname};
}

const FirewallFinding* firstFinding(const std::optional<platform::FirewallFacts>& fw,
                                    FirewallAction action) {
  if (!fw) return nullptr;
  for (const auto& finding : fw->blocking)
    if (finding.action == action) return &finding;
  return nullptr;
}

std::string addHostsLine(const MetadataFacts& f, const FixHints& hints) {
  return "add '" + f.metadataAddress + " " + f.hostname + "' to " + hints.hostsFile;
}

void addRouteDetail(const MetadataFacts& f, ProbeResult& result) {
  if (f.route && f.route->found() && !f.route->interface.empty())
    result.details.emplace_back(
        "route",
        "dev " + f.route->interface + (f.route->gateway.empty() ? "" : " via " + f.route->gateway));
}

// 1. The call got no answer: the evidence beside it decides between the causes.
ProbeResult diagnoseUnanswered(const MetadataFacts& f, const FixHints& hints) {
  const HttpResult& http = f.call.last();
  const std::string message = describeCall(f.call, callContext(f));

  // The kernel has no route at all: whatever the socket said, that is the cause.
  if (http.failedStep != HttpStep::Resolve && f.route && !f.route->found() &&
      f.route->status != platform::RouteStatus::LookupFailed) {
    return ProbeResult::failed("net.no_route",
                               message + "; route to " + f.route->destination + ": " +
                                   toString(f.route->status) +
                                   (f.route->error.empty() ? "" : " (" + f.route->error + ")"),
                               fill(hints.restoreRoute, f, hints));
  }
  // The endpoint is a name the resolver cannot find, and the hosts file does not map it.
  if (http.failedStep == HttpStep::Resolve && f.hosts && f.hosts->readable &&
      f.hosts->addresses.empty()) {
    return ProbeResult::failed("dns.hosts_mapping_missing",
                               message + "; " + f.hosts->path + " has no entry for " + f.hostname,
                               addHostsLine(f, hints));
  }

  ProbeResult result = diagnoseMetadataCall(f.call, callContext(f), hints);
  // The firewall rule behind a refused (REJECT) or unanswered (DROP) connection.
  const FirewallFinding* rule = nullptr;
  if (result.cause == "net.connection_refused")
    rule = firstFinding(f.firewall, FirewallAction::Reject);
  else if (result.cause == "net.timeout")
    rule = firstFinding(f.firewall, FirewallAction::Drop);
  else if (result.cause == "net.connect_failed" && f.firewall && !f.firewall->blocking.empty())
    // A connect the OS itself refused (Windows Firewall's block fails it with WSAEACCES).
    rule = &f.firewall->blocking.front();
  if (rule) {
    result.message += "; firewall rule: " + rule->describe();
    if (!rule->fixCommand.empty())
      result.fix = "remove the rule: " + rule->fixCommand +
                   (rule->exemptedBy.empty()
                        ? ""
                        : " (an earlier rule may exempt some traffic: " + rule->exemptedBy + ")");
    result.details.emplace_back("firewall_rule", rule->ruleText);
  } else if ((result.cause == "net.connection_refused" || result.cause == "net.timeout") &&
             f.firewall) {
    // No rule found: say which listings could not be read, so the operator knows where
    // the evidence may be missing.
    if (!f.firewall->readable)
      result.message += "; firewall rules not readable (" + f.firewall->error + ")";
    else if (!f.firewall->problems.empty())
      result.message +=
          "; no rule found in what could be read; not read: " + join(f.firewall->problems, "; ");
  }
  if (result.cause.starts_with("net.")) addRouteDetail(f, result);
  return result;
}

// 2. Something other than the metadata server answered: a NAT redirect names itself.
ProbeResult diagnoseIntercepted(const MetadataFacts& f, const FixHints& hints) {
  ProbeResult result = diagnoseMetadataCall(f.call, callContext(f), hints);
  if (f.firewall && !f.firewall->redirecting.empty()) {
    const FirewallFinding& redirect = f.firewall->redirecting.front();
    result.message += "; NAT rule: " + redirect.describe();
    if (!redirect.fixCommand.empty()) result.fix = "remove the redirect: " + redirect.fixCommand;
  }
  return result;
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
        fill(hints.hostsFileIgnored, f, hints));
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
      fill(r.localStub ? hints.restoreNameserverBehindStub : hints.restoreNameserver, f, hints));
}

std::optional<ProbeResult> diagnoseProxy(const MetadataFacts& f, const FixHints& hints) {
  if (f.proxies.empty()) return std::nullopt;
  const ProxyExposure& p = f.proxies.front();
  std::string fix;
  if (!hints.systemProxySource.empty() && p.source == hints.systemProxySource)
    fix = platform::fillHint(
        hints.exemptFromSystemProxy,
        {{"address", f.metadataAddress}, {"hostname", f.hostname}, {"proxy", p.proxy}});
  else
    fix = "add " + f.metadataAddress + "," + f.hostname + " to no_proxy and NO_PROXY (" + p.source +
          ")";
  return ProbeResult::degraded(
      "proxy.no_proxy_missing",
      p.variable + "=" + p.proxy + " (" + p.source + ") would send " + join(p.targets) +
          " through the proxy, and no_proxy does not exempt them; guestpulse goes direct, "
          "other software on this VM will fail or be refused",
      fix);
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

ProbeResult diagnoseMetadata(const MetadataFacts& f, const FixHints& hints) {
  const HttpResult& http = f.call.last();
  if (!http.ok()) return diagnoseUnanswered(f, hints);
  if (!f.call.flavorOk || http.response->status == 403) return diagnoseIntercepted(f, hints);
  ProbeResult answer = diagnoseMetadataCall(f.call, callContext(f), hints);
  if (answer.state != State::Ok) return answer;
  // The server answers at the address. Problems left are the ones that hurt other
  // software on the VM: the name, the resolver, the proxy environment.
  if (auto named = diagnoseName(f, hints)) return *named;
  if (auto resolver = diagnoseResolver(f, hints)) return *resolver;
  if (auto proxy = diagnoseProxy(f, hints)) return *proxy;
  return answer;
}

}  // namespace guestpulse
