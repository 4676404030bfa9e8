// The words of each service-proxy cause: what was seen, and the fix the Traffic Director
// troubleshooting guide gives for it. OS-specific commands come from the fix hints.

#include "agent/diagnosis/service_proxy_causes.hpp"

#include <algorithm>

namespace guestpulse::service_proxy_detail {

namespace {

const std::string kGuestAttributes =
    "gcloud compute instances get-guest-attributes INSTANCE --zone=ZONE "
    "--query-path=gce-service-proxy/";
const std::string kRecreate =
    "recreate the instance: gcloud compute instance-groups managed recreate-instances MIG "
    "--instances=INSTANCE --zone=ZONE";

std::string seconds(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

std::string clip(std::string text, std::size_t limit = 200) {
  if (text.size() > limit) text = text.substr(0, limit - 3) + "...";
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

std::string filled(const View& v, std::string_view text) {
  return platform::fillHint(text, {{"admin", v.facts.envoyAdmin},
                                   {"host", v.facts.controlPlaneHost},
                                   {"port", std::to_string(v.facts.controlPlanePort)}});
}

std::string joinPorts(const std::vector<std::uint16_t>& ports) {
  std::string out;
  for (auto p : ports) out += (out.empty() ? "" : ", ") + std::to_string(p);
  return out;
}

std::string envoyState(const View& v) {
  const auto& ready = v.facts.ready;
  if (!ready || !ready->ok()) return {};
  std::string body = clip(ready->response->body, 40);
  while (!body.empty() && (body.back() == ' ' || body.back() == '\n')) body.pop_back();
  if (ready->response->status == 404 && v.facts.serverInfo && v.facts.serverInfo->ok())
    return serverInfoState(v.facts.serverInfo->response->body);  // Envoy before /ready
  return body;
}

std::optional<EnvoyVersion> envoyVersion(const View& v) {
  if (!v.facts.serverInfo || !v.facts.serverInfo->ok()) return std::nullopt;
  return parseEnvoyVersion(v.facts.serverInfo->response->body);
}

const platform::InterceptionRedirect* firstOutbound(const platform::InterceptionFacts& facts,
                                                    platform::Reach proxy) {
  for (const auto& r : facts.outbound) {
    if (r.proxyTraffic == proxy) return &r;
  }
  return nullptr;
}

std::string proxyUidText(const platform::InterceptionFacts& facts) {
  return facts.proxyUid ? "uid " + std::to_string(*facts.proxyUid) + ", " + facts.proxyUidSource
                        : "uid unknown: " + facts.proxyUidSource;
}

}  // namespace

std::string valueOf(const std::optional<MetadataResult>& call) {
  if (!call || call->status() != 200) return {};
  std::string_view body = call->body();
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return std::string(body.substr(first, body.find_last_not_of(" \t\r\n") - first + 1));
}

bool probeIntercepted(const platform::InterceptionFacts& facts) {
  return std::any_of(facts.outbound.begin(), facts.outbound.end(),
                     [](const auto& r) { return r.probeTraffic != platform::Reach::No; });
}

ProbeResult bootstrapPending(const View& v) {
  const auto& f = v.facts;
  const std::string state = v.bootstrap.empty()
                                ? "is not set yet: the service proxy agent has not started"
                                : "is " + clip(v.bootstrap, 40);
  const std::string up = f.uptime ? formatDuration(*f.uptime) : std::string("unknown");
  ProbeResult r;
  if (f.uptime && *f.uptime >= f.bootstrapGrace) {
    r = ProbeResult::failed("service_proxy.bootstrap_pending",
                            "gce-service-proxy/bootstrap-status " + state + " after " + up +
                                " of uptime (probes.service_proxy.bootstrap_grace: " +
                                formatDuration(f.bootstrapGrace) + ")",
                            "the bootstrap is stuck: read the agent's guest attributes (" +
                                kGuestAttributes +
                                ") and the serial console; if it does not finish, " + kRecreate);
  } else {
    r = ProbeResult::degraded(
        "service_proxy.bootstrap_pending",
        "gce-service-proxy/bootstrap-status " + state + " (the VM has been up " + up +
            "; allowed " + formatDuration(f.bootstrapGrace) + ")",
        "wait: bootstrapping installs and starts Envoy and the service proxy agent; past "
        "probes.service_proxy.bootstrap_grace read " +
            kGuestAttributes + " and the serial console");
  }
  r.details.emplace_back("bootstrap_status", v.bootstrap.empty() ? "(none)" : v.bootstrap);
  if (f.uptime) r.details.emplace_back("uptime_s", seconds(*f.uptime));
  return r;
}

ProbeResult bootstrapFailed(const View& v) {
  const std::string why = clip(valueOf(v.facts.bootstrapFailure));
  ProbeResult r = ProbeResult::failed(
      "service_proxy.bootstrap_failed",
      "gce-service-proxy/bootstrap-status is FAILED" +
          (why.empty() ? std::string(" (no bootstrap-last-failure)")
                       : ": bootstrap-last-failure: " + why),
      "fix what bootstrap-last-failure names (often the service account's scopes or the "
      "Traffic Director API not enabled in the project), then " +
          kRecreate);
  r.details.emplace_back("bootstrap_status", "FAILED");
  return r;
}

ProbeResult agentDead(const View& v, std::optional<WallTime> heartbeat) {
  const auto& f = v.facts;
  std::string message;
  if (heartbeat) {
    message = "gce-service-proxy/agent-heartbeat is " +
              formatDuration(std::chrono::duration_cast<Duration>(f.now - *heartbeat)) + " old (" +
              formatRfc3339(*heartbeat) + "; stale after " + formatDuration(f.heartbeatStale) +
              "): the service proxy agent is not running";
  } else {
    message =
        "bootstrap-status is FINISHED but there is no gce-service-proxy/agent-heartbeat: the "
        "service proxy agent is not running";
  }
  if (std::string last = clip(valueOf(f.agentFailure)); !last.empty())
    message += "; agent-last-failure: " + last;
  ProbeResult r =
      ProbeResult::failed("service_proxy.agent_dead", message,
                          "the Traffic Director guide's remedy for a dead agent: " + kRecreate);
  if (heartbeat)
    r.details.emplace_back("heartbeat_age_s",
                           seconds(std::chrono::duration_cast<Duration>(f.now - *heartbeat)));
  return r;
}

std::optional<ProbeResult> interceptionLoop(const View& v) {
  const auto& facts = v.facts.interception;
  if (!facts || !facts->readable) return std::nullopt;
  const platform::InterceptionRedirect* loop = firstOutbound(*facts, platform::Reach::Yes);
  if (!loop) return std::nullopt;
  std::string via;
  for (const auto& jump : loop->path) via += (via.empty() ? "" : "; ") + jump;
  std::string message =
      "nat " + loop->entryChain +
      " redirects the proxy's own connections back into it: " + loop->rule.describe() +
      (via.empty() ? "" : " (via " + via + ")") + "; no RETURN for the proxy's " +
      proxyUidText(*facts) + ", comes before it";
  if (!loop->exemptUids.empty()) {
    std::string uids;
    for (const auto& uid : loop->exemptUids) uids += (uids.empty() ? "" : ", ") + uid;
    message += " (the exclusions before it name uid " + uids + ")";
  }
  ProbeResult r =
      ProbeResult::failed("service_proxy.interception_loop", message,
                          "exempt the proxy's uid before the redirect: " + loop->exemptCommand +
                              "; check with " + v.hints.listNatRules);
  if (facts->proxyUid) r.details.emplace_back("proxy_uid", std::to_string(*facts->proxyUid));
  r.details.emplace_back("rule", loop->rule.ruleText);
  return r;
}

std::optional<ProbeResult> controlPlaneUnreachable(const View& v) {
  const auto& f = v.facts;
  const std::string target = f.controlPlaneHost + ":" + std::to_string(f.controlPlanePort);
  const std::string check = filled(v, v.hints.checkNameAndPort);
  if (f.controlPlaneName && !f.controlPlaneName->ok()) {
    return ProbeResult::failed(
        "service_proxy.control_plane_unreachable",
        "the control plane " + f.controlPlaneHost +
            " does not resolve: " + f.controlPlaneName->describeFailure(),
        "Envoy must reach " + target + ": check the VM's DNS (" + check +
            ") and, without an external IP, Private Google Access on the subnet");
  }
  if (!f.controlPlaneConnect || f.controlPlaneConnect->ok()) return std::nullopt;
  ProbeResult r = ProbeResult::failed(
      "service_proxy.control_plane_unreachable",
      "connect to the control plane " + target + " (" + f.controlPlaneConnect->describe() + ")",
      "Envoy must reach " + target +
          ": check the VPC egress firewall rules and the local "
          "firewall for TCP 443, and the route to Google APIs (" +
          check + ")");
  r.details.emplace_back("control_plane", f.controlPlaneConnect->peer);
  return r;
}

std::optional<ProbeResult> scopeMissing(const View& v) {
  const auto& scopes = v.facts.scopes;
  if (!scopes) return std::nullopt;
  const std::string fix =
      "Traffic Director needs access to Google Cloud APIs: create the VM (or its instance "
      "template) with --scopes=" +
      std::string(kCloudPlatformScope);
  if (scopes->status() == 404)
    return ProbeResult::failed(
        "service_proxy.scope_missing",
        "the VM has no default service account (GET " + std::string(kDefaultScopes) + ": HTTP 404)",
        fix + " and a service account");
  const std::string list = valueOf(scopes);
  std::string shown;
  std::size_t pos = 0;
  while (pos < list.size()) {
    std::size_t end = std::min(list.find('\n', pos), list.size());
    std::string scope(list.substr(pos, end - pos));
    pos = end + 1;
    while (!scope.empty() && (scope.back() == '\r' || scope.back() == ' ')) scope.pop_back();
    if (scope == kCloudPlatformScope) return std::nullopt;
    if (!scope.empty()) shown += (shown.empty() ? "" : ", ") + scope;
  }
  return ProbeResult::failed("service_proxy.scope_missing",
                             "the default service account's scopes lack cloud-platform (it has: " +
                                 (shown.empty() ? std::string("none") : clip(shown, 300)) + ")",
                             fix);
}

std::optional<ProbeResult> envoyNotReady(const View& v) {
  const auto& f = v.facts;
  const std::string query = filled(v, v.hints.envoyAdminQuery);
  const std::string logs = "Envoy's log (" + v.hints.envoyLog + ")";
  if (!f.ready || !f.ready->ok())
    return ProbeResult::failed("service_proxy.envoy_not_ready",
                               "Envoy's admin interface does not answer: " +
                                   (f.ready ? f.ready->describe(f.envoyAdmin) : "not asked"),
                               "Envoy is not running (the service proxy agent starts it): read " +
                                   logs + "; if it stays down, " + kRecreate);
  const int status = f.ready->response->status;
  const std::string state = envoyState(v);
  if ((status != 200 && status != 404) || (!state.empty() && state != "LIVE"))
    return ProbeResult::failed(
        "service_proxy.envoy_not_ready",
        "Envoy is not ready: GET /ready answers HTTP " + std::to_string(status) +
            (state.empty() ? std::string() : " " + state) + " (not LIVE)",
        "Envoy is waiting for its configuration from Traffic Director: read " + logs + " and " +
            query);
  const auto& l = f.listeners;
  if (!l || l->active > 0 || !l->complete) return std::nullopt;  // unknown: no claim
  std::string message =
      "Envoy is LIVE but /config_dump holds no active listener from the control plane";
  if (l->warming) message += " (" + std::to_string(l->warming) + " warming)";
  if (!l->firstError.empty()) message += "; last rejected update: " + clip(l->firstError);
  ProbeResult r = ProbeResult::failed(
      "service_proxy.envoy_not_ready", message,
      "Envoy has not received its configuration from Traffic Director: check the service "
      "routing (forwarding rule, target proxy, backend service) for this VM's network, the "
      "service account's scopes and " +
          logs + "; " + query);
  r.details.emplace_back("active_listeners", "0");
  return r;
}

std::optional<ProbeResult> interceptionMissing(const View& v) {
  const auto& facts = v.facts.interception;
  if (!facts || !facts->readable) return std::nullopt;
  const std::string fix =
      "the service proxy agent sets up the interception when it bootstraps: see what is "
      "there (" +
      v.hints.listNatRules + "); if the interception chains are gone, " + kRecreate;
  if (facts->outbound.empty()) {
    std::string chains;
    for (const auto& c : facts->natChains) chains += (chains.empty() ? "" : ", ") + c;
    return ProbeResult::failed(
        "service_proxy.interception_missing",
        "bootstrap-status is FINISHED but no nat rule redirects outbound connections to the "
        "proxy (port " +
            std::to_string(v.spec.proxyPort) +
            "); nat chains: " + (chains.empty() ? std::string("none") : chains),
        fix);
  }
  std::vector<std::uint16_t> missing;
  for (std::uint16_t port : v.spec.servingPorts) {
    bool taken = std::any_of(facts->inbound.begin(), facts->inbound.end(), [&](const auto& r) {
      return std::find(r.servingPorts.begin(), r.servingPorts.end(), port) != r.servingPorts.end();
    });
    if (!taken) missing.push_back(port);
  }
  if (missing.empty()) return std::nullopt;
  return ProbeResult::failed("service_proxy.interception_missing",
                             "inbound connections to serving port(s) " + joinPorts(missing) +
                                 " are not redirected to the proxy (nat PREROUTING), although "
                                 "gce-service-proxy names them",
                             fix);
}

std::optional<ProbeResult> envoyTooOld(const View& v) {
  auto version = envoyVersion(v);
  if (!version || !version->olderThan(1, 9, 1)) return std::nullopt;
  ProbeResult r = ProbeResult::degraded(
      "service_proxy.envoy_too_old",
      "Envoy " + version->text + " is older than 1.9.1, the oldest Traffic Director supports",
      "update Envoy: " + kRecreate + " from a template with the current service proxy");
  r.details.emplace_back("envoy_version", version->text);
  return r;
}

ProbeResult healthy(const View& v, const std::vector<std::string>& notes) {
  const auto& f = v.facts;
  std::string message = "bootstrap FINISHED";
  ProbeResult r;
  if (f.heartbeat && f.heartbeat->status() == 200) {
    if (auto beat = parseHeartbeat(f.heartbeat->body())) {
      auto age = std::chrono::duration_cast<Duration>(f.now - *beat);
      message += ", agent heartbeat " + formatDuration(std::max(age, Duration(0))) + " old";
      r.details.emplace_back("heartbeat_age_s", seconds(std::max(age, Duration(0))));
    }
  }
  auto version = envoyVersion(v);
  message += ", Envoy" + (version ? " " + version->text : std::string()) + " " +
             (envoyState(v).empty() ? std::string("answering") : envoyState(v));
  if (version) r.details.emplace_back("envoy_version", version->text);
  if (f.listeners && f.listeners->active > 0) {
    message += " with active listener " + clip(f.listeners->firstActive, 60);
    r.details.emplace_back("listener", f.listeners->firstActive);
  }
  std::vector<std::string> unchecked = notes;
  if (f.interception && f.interception->readable && !f.interception->outbound.empty()) {
    message += ", nat interception to port " +
               std::to_string(f.interception->outbound.front().toPort) + " (proxy " +
               proxyUidText(*f.interception) + ")";
  } else if (f.interception) {
    unchecked.push_back("nat rules: " + f.interception->error);
  } else if (f.interceptionLooked) {
    unchecked.push_back("nat rules: not read within " + formatDuration(f.inspectionDeadline));
  } else {
    unchecked.push_back("nat rules: not read (no inspector)");
  }
  if (f.controlPlaneConnect && f.controlPlaneConnect->ok()) {
    message += ", control plane " + f.controlPlaneHost + " reachable";
    r.details.emplace_back("control_plane", f.controlPlaneConnect->peer);
  } else if (f.controlPlaneName && f.controlPlaneName->ok()) {
    message += ", control plane " + f.controlPlaneHost + " resolves";
    unchecked.push_back(
        "TCP to the control plane: not tested, the nat rules would hand this "
        "agent's connection to the proxy");
  }
  if (f.listeners && f.listeners->active == 0 && !f.listeners->complete)
    unchecked.push_back("config_dump: " + (f.listeners->parseError.empty()
                                               ? "read " + std::to_string(f.listeners->bytes) +
                                                     " bytes without reaching the listeners"
                                               : "not JSON: " + f.listeners->parseError));
  r.state = State::Ok;
  r.message = message;
  for (const auto& note : unchecked) r.details.emplace_back("not_checked", note);
  return r;
}

}  // namespace guestpulse::service_proxy_detail
