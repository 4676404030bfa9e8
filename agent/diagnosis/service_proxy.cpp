// The steps of the service-proxy diagnosis (see service_proxy.hpp); each cause's words
// are in service_proxy_causes.cpp.

#include "agent/diagnosis/service_proxy.hpp"

#include <boost/json.hpp>

#include "agent/core/timestamp.hpp"
#include "agent/diagnosis/metadata_call.hpp"
#include "agent/diagnosis/service_proxy_causes.hpp"

namespace guestpulse {

namespace json = boost::json;
using namespace service_proxy_detail;

namespace {

std::string_view trimmed(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::optional<std::uint16_t> portOf(const json::value& v) {
  std::int64_t n = -1;
  if (v.is_int64()) n = v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= 65535) n = static_cast<std::int64_t>(v.get_uint64());
  if (v.is_string()) {
    try {
      n = std::stoll(std::string(v.get_string()));
    } catch (const std::exception&) {
      n = -1;
    }
  }
  if (n < 1 || n > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(n);
}

// The metadata server could not be asked (down, throttled, intercepted): that is the
// metadata probe's finding, not this probe's.
bool unreachable(const MetadataResult& call) {
  if (call.attempts.empty() || !call.last().ok() || !call.flavorOk) return true;
  const int status = call.status();
  return status >= 500 || status == 429 || status == 408;
}

ServiceProxyAssessment needs(ServiceProxyStep step) {
  ServiceProxyAssessment out;
  out.next = step;
  return out;
}

ServiceProxyAssessment verdict(ProbeResult result) {
  ServiceProxyAssessment out;
  out.result = std::move(result);
  return out;
}

ServiceProxyAssessment cannotAsk(const std::string& path, const MetadataResult& call,
                                 const std::string& endpoint) {
  std::string why = "GET " + path + ": ";
  if (call.attempts.empty()) {
    why += "no request made";
  } else {
    why += call.last().describe(endpoint);
    if (call.last().ok() && !call.flavorOk) why += " without Metadata-Flavor: Google";
  }
  ServiceProxyAssessment out;
  out.unreachable = true;
  out.why = why;
  out.result = ProbeResult::ok("not checked yet: " + why +
                               " (the metadata probe reports the server's health)");
  out.result.details.emplace_back("not_rechecked", why);
  return out;
}

// A metadata answer the steps can use: 200 or 404. Anything else ends the assessment.
std::optional<ServiceProxyAssessment> unusable(const MetadataResult& call, const std::string& path,
                                               const ServiceProxyFacts& f,
                                               const platform::FixHints& h) {
  if (unreachable(call)) return cannotAsk(path, call, f.endpoint);
  const int status = call.status();
  if (status == 200 || status == 404) return std::nullopt;
  // GCE answers 403 to every guest-attribute call on a VM without
  // enable-guest-attributes=TRUE: the proxy's status cannot be read (and its agent cannot
  // write it either). Not a proxy in the path.
  if (status == 403 && path.starts_with("instance/guest-attributes/"))
    return verdict(ProbeResult::degraded(
        "guest_attributes.disabled",
        "GET " + path +
            ": HTTP 403: guest attributes are disabled on this VM, so the service "
            "proxy's bootstrap status and heartbeat cannot be read (nor written by its agent)",
        "gcloud compute instances add-metadata VM --metadata=enable-guest-attributes=TRUE"));
  return verdict(diagnoseMetadataCall(call, {f.endpoint, "GET " + path}, h));
}

bool adminAnswered(const std::optional<HttpResult>& call) { return call && call->ok(); }

// The port of "host:port" ("127.0.0.1:15000", "[::1]:15000", "localhost:15000").
std::uint16_t portOf(const std::string& hostPort, std::uint16_t fallback) {
  const std::size_t colon = hostPort.rfind(':');
  if (colon == std::string::npos) return fallback;
  return portOf(json::value(hostPort.substr(colon + 1))).value_or(fallback);
}

}  // namespace

std::string serviceProxyGuestAttribute(std::string_view key) {
  return std::string(kServiceProxyGuestAttributes) + std::string(key);
}

ServiceProxySpec parseServiceProxySpec(std::string_view attribute) {
  ServiceProxySpec spec;
  boost::system::error_code ec;
  json::value root = json::parse(attribute, ec);
  if (ec || !root.is_object()) return spec;
  spec.parsed = true;
  const json::object& o = root.get_object();
  if (const json::value* proxy = o.if_contains("proxy-spec"); proxy && proxy->is_object()) {
    if (const json::value* port = proxy->get_object().if_contains("proxy-port"))
      spec.proxyPort = portOf(*port).value_or(spec.proxyPort);
  }
  if (const json::value* service = o.if_contains("service"); service && service->is_object()) {
    const json::value* ports = service->get_object().if_contains("serving-ports");
    if (ports && ports->is_array()) {
      for (const auto& p : ports->get_array())
        if (auto port = portOf(p)) spec.servingPorts.push_back(*port);
    }
  }
  return spec;
}

std::optional<WallTime> parseHeartbeat(std::string_view value) {
  std::string_view v = trimmed(value);
  if (auto t = parseRfc3339(v)) return t;
  return parseUnixSeconds(v);
}

ServiceProxyAssessment assessServiceProxy(const ServiceProxyFacts& f, const platform::FixHints& h) {
  View v{f, h, {}, {}};
  if (!f.attribute) return needs(ServiceProxyStep::Attribute);
  if (auto stop = unusable(*f.attribute, kServiceProxyAttribute, f, h)) return *stop;
  if (f.attribute->status() == 404 && f.askAttribute)
    return verdict(ProbeResult::ok(
        "not a service-proxy VM (no instance attribute gce-service-proxy); nothing checked"));
  if (f.attribute->status() == 200) v.spec = parseServiceProxySpec(f.attribute->body());

  const std::string statusPath = serviceProxyGuestAttribute("bootstrap-status");
  if (!f.bootstrapStatus) return needs(ServiceProxyStep::BootstrapStatus);
  if (auto stop = unusable(*f.bootstrapStatus, statusPath, f, h)) return *stop;
  v.bootstrap = valueOf(f.bootstrapStatus);
  if (v.bootstrap == "FAILED") {
    if (!f.bootstrapFailure) return needs(ServiceProxyStep::BootstrapFailure);
    return verdict(bootstrapFailed(v));
  }
  if (v.bootstrap != "FINISHED") return verdict(bootstrapPending(v));

  if (!f.heartbeat) return needs(ServiceProxyStep::Heartbeat);
  if (auto stop = unusable(*f.heartbeat, serviceProxyGuestAttribute("agent-heartbeat"), f, h))
    return *stop;
  std::vector<std::string> notes;
  std::optional<WallTime> beat;
  if (f.heartbeat->status() == 200) {
    beat = parseHeartbeat(f.heartbeat->body());
    if (!beat)
      notes.push_back("agent-heartbeat '" + valueOf(f.heartbeat).substr(0, 40) +
                      "' is neither RFC 3339 nor Unix seconds; its age is not judged");
  }
  const bool missing = f.heartbeat->status() == 404;
  if (missing || (beat && f.now - *beat > f.heartbeatStale)) {
    if (!f.agentFailure) return needs(ServiceProxyStep::AgentFailure);
    return verdict(agentDead(v, beat));
  }

  if (!f.scopes) return needs(ServiceProxyStep::Scopes);
  if (auto stop = unusable(*f.scopes, kDefaultScopes, f, h)) return *stop;

  if (!f.ready) return needs(ServiceProxyStep::EnvoyReady);
  if (adminAnswered(f.ready)) {
    if (!f.serverInfo) return needs(ServiceProxyStep::EnvoyServerInfo);
    if (!f.configDump) return needs(ServiceProxyStep::EnvoyConfigDump);
  }

  if (!f.controlPlaneName) return needs(ServiceProxyStep::ControlPlaneName);
  if (f.canInspect && !f.interceptionLooked) {
    ServiceProxyAssessment next = needs(ServiceProxyStep::Interception);
    next.interceptionQuery.adminPort = portOf(f.envoyAdmin, 15000);
    next.interceptionQuery.proxyPort = v.spec.proxyPort;
    next.interceptionQuery.servingPorts = v.spec.servingPorts;
    next.interceptionQuery.probePort = f.controlPlanePort;
    for (const auto& address : f.controlPlaneName->addresses) {
      if (address.find(':') == std::string::npos) {
        next.interceptionQuery.probeAddress = address;
        break;
      }
    }
    return next;
  }
  const bool intercepted = f.interception && probeIntercepted(*f.interception);
  if (f.controlPlaneName->ok() && !intercepted && !f.controlPlaneConnect) {
    ServiceProxyAssessment next = needs(ServiceProxyStep::ControlPlaneConnect);
    next.connectAddresses = f.controlPlaneName->addresses;
    return next;
  }

  // Every finding, the most fundamental first; the others ride along in the details.
  std::vector<ProbeResult> findings;
  for (auto finding : {interceptionLoop(v), controlPlaneUnreachable(v), scopeMissing(v),
                       envoyNotReady(v), interceptionMissing(v), envoyTooOld(v)}) {
    if (finding) findings.push_back(std::move(*finding));
  }
  if (findings.empty()) return verdict(healthy(v, notes));
  ProbeResult result = std::move(findings.front());
  std::string others;
  for (std::size_t i = 1; i < findings.size(); ++i)
    others += (others.empty() ? "" : ",") + findings[i].cause;
  if (!others.empty()) result.details.emplace_back("other_findings", others);
  for (const auto& note : notes) result.details.emplace_back("note", note);
  return verdict(std::move(result));
}

}  // namespace guestpulse
