#include "agent/diagnosis/network_layers.hpp"

#include <algorithm>

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

std::string fill(const std::string& text, const NetworkEvidence& e, const FixHints& hints) {
  const bool knownInterface = e.route && !e.route->defaultRouteInterface.empty();
  return platform::fillHint(
      text,
      {{"address", e.metadataAddress},
       {"endpoint", e.endpoint},
       {"hostname", e.hostname.empty() ? e.metadataAddress : e.hostname},
       {"interface", knownInterface ? e.route->defaultRouteInterface : hints.unknownInterface}});
}

const FirewallFinding* firstFinding(const std::optional<platform::FirewallFacts>& fw,
                                    FirewallAction action) {
  if (!fw) return nullptr;
  for (const auto& finding : fw->blocking)
    if (finding.action == action) return &finding;
  return nullptr;
}

void addRouteDetail(const NetworkEvidence& e, ProbeResult& result) {
  if (e.route && e.route->found() && !e.route->interface.empty())
    result.details.emplace_back(
        "route",
        "dev " + e.route->interface + (e.route->gateway.empty() ? "" : " via " + e.route->gateway));
}

}  // namespace

std::vector<ProxyExposure> findProxyExposures(const platform::ProxyFacts& facts,
                                              const std::vector<std::string>& hosts) {
  std::vector<std::string> names;
  for (const auto& host : hosts)
    if (!host.empty() && std::find(names.begin(), names.end(), host) == names.end())
      names.push_back(host);
  std::vector<ProxyExposure> exposures;
  for (const auto& source : facts.sources) {
    if (!source.readable || source.variables.empty()) continue;
    ProxyEnvironment environment(source.variables);
    auto through = environment.metadataRequestsThroughProxy(names);
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

std::vector<ProxyExposure> findProxyExposures(const platform::ProxyFacts& facts,
                                              const std::string& hostname,
                                              const std::string& address) {
  return findProxyExposures(facts, std::vector<std::string>{address, hostname});
}

ProbeResult diagnoseUnanswered(const MetadataResult& call, const MetadataCallContext& context,
                               const NetworkEvidence& e, const FixHints& hints) {
  const HttpResult& http = call.last();
  const std::string message = describeCall(call, context);

  // The kernel has no route at all: whatever the socket said, that is the cause.
  if (http.failedStep != HttpStep::Resolve && e.route && !e.route->found() &&
      e.route->status != platform::RouteStatus::LookupFailed) {
    return ProbeResult::failed("net.no_route",
                               message + "; route to " + e.route->destination + ": " +
                                   toString(e.route->status) +
                                   (e.route->error.empty() ? "" : " (" + e.route->error + ")"),
                               fill(hints.restoreRoute, e, hints));
  }
  // The endpoint is a name the resolver cannot find, and the hosts file does not map it.
  if (http.failedStep == HttpStep::Resolve && e.hosts && e.hosts->readable &&
      e.hosts->addresses.empty()) {
    const std::string& name = e.hosts->name.empty() ? e.hostname : e.hosts->name;
    return ProbeResult::failed(
        "dns.hosts_mapping_missing", message + "; " + e.hosts->path + " has no entry for " + name,
        "add '" + e.metadataAddress + " " + name + "' to " + hints.hostsFile);
  }

  ProbeResult result = diagnoseMetadataCall(call, context, hints);
  // The firewall rule behind a refused (REJECT) or unanswered (DROP) connection.
  const FirewallFinding* rule = nullptr;
  if (result.cause == "net.connection_refused")
    rule = firstFinding(e.firewall, FirewallAction::Reject);
  else if (result.cause == "net.timeout")
    rule = firstFinding(e.firewall, FirewallAction::Drop);
  else if (result.cause == "net.connect_failed" && e.firewall && !e.firewall->blocking.empty())
    // A connect the OS itself refused (Windows Firewall's block fails it with WSAEACCES).
    rule = &e.firewall->blocking.front();
  if (rule) {
    result.message += "; firewall rule: " + rule->describe();
    if (!rule->fixCommand.empty())
      result.fix = "remove the rule: " + rule->fixCommand +
                   (rule->exemptedBy.empty()
                        ? ""
                        : " (an earlier rule may exempt some traffic: " + rule->exemptedBy + ")");
    result.details.emplace_back("firewall_rule", rule->ruleText);
  } else if ((result.cause == "net.connection_refused" || result.cause == "net.timeout") &&
             e.firewall) {
    // No rule found: say which listings could not be read, so the operator knows where
    // the evidence may be missing.
    if (!e.firewall->readable)
      result.message += "; firewall rules not readable (" + e.firewall->error + ")";
    else if (!e.firewall->problems.empty())
      result.message +=
          "; no rule found in what could be read; not read: " + join(e.firewall->problems, "; ");
  }
  if (result.cause.starts_with("net.")) addRouteDetail(e, result);
  return result;
}

void addRedirectEvidence(ProbeResult& result, const NetworkEvidence& e) {
  if (!e.firewall || e.firewall->redirecting.empty()) return;
  const FirewallFinding& redirect = e.firewall->redirecting.front();
  result.message += "; NAT rule: " + redirect.describe();
  if (!redirect.fixCommand.empty()) result.fix = "remove the redirect: " + redirect.fixCommand;
}

std::optional<ProbeResult> diagnoseProxyExposure(const NetworkEvidence& e, const FixHints& hints) {
  if (e.proxies.empty()) return std::nullopt;
  const ProxyExposure& p = e.proxies.front();
  std::string fix;
  if (!hints.systemProxySource.empty() && p.source == hints.systemProxySource)
    fix = platform::fillHint(hints.exemptFromSystemProxy,
                             {{"address", e.metadataAddress},
                              {"hostname", e.hostname.empty() ? e.metadataAddress : e.hostname},
                              {"proxy", p.proxy}});
  else if (e.hostname.empty())
    // The providers without a metadata name (EC2, Azure) are reached by address only;
    // AWS's guide spells the fix this way.
    fix = "set NO_PROXY=" + e.metadataAddress + " (and no_proxy), or add " + e.metadataAddress +
          " to them (" + p.source + ")";
  else
    fix = "add " + e.metadataAddress + "," + e.hostname + " to no_proxy and NO_PROXY (" + p.source +
          ")";
  return ProbeResult::degraded(
      "proxy.no_proxy_missing",
      p.variable + "=" + p.proxy + " (" + p.source + ") would send " + join(p.targets) +
          " through the proxy, and no_proxy does not exempt them; guestpulse goes direct, "
          "other software on this VM will fail or be refused",
      fix);
}

}  // namespace guestpulse
