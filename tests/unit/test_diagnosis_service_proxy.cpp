// assessServiceProxy, table-driven: the steps it asks for and every cause of the
// service-proxy diagnosis, from hand-built facts.

#include <boost/asio/error.hpp>
#include <catch2/catch.hpp>
#include <functional>

#include "agent/core/timestamp.hpp"
#include "agent/diagnosis/service_proxy.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
using platform::Reach;

namespace {

const WallTime kNow = *parseRfc3339("2026-11-22T22:00:00Z");

MetadataResult answered(int status, std::string body = {}, bool flavor = true) {
  MetadataResult r;
  HttpResult http;
  http.response = HttpResponse{status, "", {}, std::move(body)};
  if (flavor) http.response->headers.emplace_back("Metadata-Flavor", "Google");
  r.attempts.push_back({http, 0ms});
  r.flavorOk = flavor;
  return r;
}

MetadataResult refusedCall() {
  MetadataResult r;
  HttpResult http;
  http.failedStep = HttpStep::Connect;
  http.error = boost::asio::error::connection_refused;
  http.peer = "169.254.169.254:80";
  r.attempts.push_back({http, 0ms});
  return r;
}

HttpResult admin(int status, std::string body) {
  HttpResult r;
  r.response = HttpResponse{status, "", {}, std::move(body)};
  return r;
}

HttpResult adminRefused() {
  HttpResult r;
  r.failedStep = HttpStep::Connect;
  r.error = boost::asio::error::connection_refused;
  r.peer = "127.0.0.1:15000";
  return r;
}

platform::InterceptionRedirect redirect(Reach proxy, Reach probe) {
  platform::InterceptionRedirect r;
  r.rule.tool = "iptables";
  r.rule.table = "nat";
  r.rule.chain = "ISTIO_REDIRECT";
  r.rule.ruleText = "-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001";
  r.entryChain = "OUTPUT";
  r.toPort = 15001;
  r.path = {"-A OUTPUT -p tcp -j ISTIO_OUTPUT", "-A ISTIO_OUTPUT -j ISTIO_REDIRECT"};
  r.proxyTraffic = proxy;
  r.probeTraffic = probe;
  r.exemptCommand = "iptables -t nat -I OUTPUT 1 -m owner --uid-owner 1337 -j RETURN";
  return r;
}

platform::InterceptionFacts interception() {
  platform::InterceptionFacts i;
  i.readable = true;
  i.sources = {"iptables-nft-save"};
  i.proxyUid = 1337;
  i.proxyUidSource = "the owner of the socket listening on 127.0.0.1:15000";
  i.natChains = {"ISTIO_INBOUND", "ISTIO_IN_REDIRECT", "ISTIO_OUTPUT", "ISTIO_REDIRECT"};
  i.outbound = {redirect(Reach::No, Reach::No)};
  i.outbound[0].exemptions = {"-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN"};
  i.outbound[0].exemptUids = {"1337"};
  auto in = redirect(Reach::No, Reach::No);
  in.entryChain = "PREROUTING";
  in.servingPorts = {8080};
  i.inbound = {in};
  return i;
}

NameResolution resolved() {
  NameResolution n;
  n.name = "trafficdirector.googleapis.com";
  n.addresses = {"199.36.153.8"};
  return n;
}

ConfigDumpListeners listeners(std::size_t active) {
  ConfigDumpListeners l;
  l.active = active;
  l.firstActive = active ? "td-interception" : "";
  l.complete = active == 0;
  return l;
}

// A healthy service-proxy VM, every step done.
ServiceProxyFacts healthy() {
  ServiceProxyFacts f;
  f.endpoint = "169.254.169.254:80";
  f.now = kNow;
  f.uptime = 2h;
  f.attribute = answered(200, R"({"api-version": "0.2", "proxy-spec": {"proxy-port": 15001},
                                  "service": {"serving-ports": [8080]}})");
  f.bootstrapStatus = answered(200, "FINISHED\n");
  f.heartbeat = answered(200, "2026-11-22T21:59:20Z");
  f.scopes = answered(200,
                      "https://www.googleapis.com/auth/cloud-platform\n"
                      "https://www.googleapis.com/auth/userinfo.email\n");
  f.ready = admin(200, "LIVE\n");
  f.serverInfo =
      admin(200, R"({"version": "abc/1.27.0/Clean/RELEASE/BoringSSL", "state": "LIVE"})");
  f.configDump = admin(200, "");
  f.listeners = listeners(1);
  f.controlPlaneName = resolved();
  f.interceptionLooked = true;
  f.interception = interception();
  f.controlPlaneConnect = TcpConnectResult{"199.36.153.8:443", {}, false, 12ms};
  return f;
}

template <class Change>
std::function<ServiceProxyFacts()> with(Change change) {
  return [change] {
    ServiceProxyFacts f = healthy();
    change(f);
    return f;
  };
}

struct Row {
  const char* name;
  std::function<ServiceProxyFacts()> facts;
  State state;
  const char* cause;
  const char* inMessage;
  const char* inFix;
};

}  // namespace

TEST_CASE("assessServiceProxy: the steps, in order, only as far as needed",
          "[diagnosis][service_proxy]") {
  ServiceProxyFacts f;
  f.now = kNow;
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::Attribute);
  f.attribute = answered(404);
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::Verdict);  // auto: not a proxy VM
  f.askAttribute = false;
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::BootstrapStatus);
  f.attribute = answered(200, R"({"proxy-spec": {"proxy-port": 15009}})");
  f.bootstrapStatus = answered(200, "FAILED");
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::BootstrapFailure);
  f.bootstrapStatus = answered(200, "FINISHED");
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::Heartbeat);
  f.heartbeat = answered(200, "1763848000");  // 2025: long dead
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::AgentFailure);
  f.heartbeat = answered(200, " 2026-11-22T21:58:00Z ");
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::Scopes);
  f.scopes = answered(200, "https://www.googleapis.com/auth/cloud-platform");
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::EnvoyReady);
  f.ready = adminRefused();  // nothing answers: no /server_info, no /config_dump
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::ControlPlaneName);
  f.ready = admin(200, "LIVE");
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::EnvoyServerInfo);
  f.serverInfo = admin(200, "{}");
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::EnvoyConfigDump);
  f.configDump = admin(200, "");
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::ControlPlaneName);
  f.controlPlaneName = resolved();
  auto inspect = assessServiceProxy(f);
  REQUIRE(inspect.next == ServiceProxyStep::Interception);
  CHECK(inspect.interceptionQuery.adminPort == 15000);
  CHECK(inspect.interceptionQuery.proxyPort == 15009);
  CHECK(inspect.interceptionQuery.probeAddress == "199.36.153.8");
  CHECK(inspect.interceptionQuery.probePort == 443);
  f.interceptionLooked = true;
  f.interception = interception();
  auto connect = assessServiceProxy(f);
  REQUIRE(connect.next == ServiceProxyStep::ControlPlaneConnect);
  CHECK(connect.connectAddresses == std::vector<std::string>{"199.36.153.8"});
  // Our own connection would be taken by the proxy: no TCP test, only the name.
  f.interception->outbound[0].probeTraffic = Reach::Yes;
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::Verdict);
  // Without an inspector the nat rules are skipped, the TCP test is not.
  f.interceptionLooked = false;
  f.interception.reset();
  f.canInspect = false;
  CHECK(assessServiceProxy(f).next == ServiceProxyStep::ControlPlaneConnect);
}

TEST_CASE("assessServiceProxy: every cause", "[diagnosis][service_proxy][linux-words]") {
  const std::vector<Row> rows = {
      {"healthy", healthy, State::Ok, "", "Envoy 1.27.0 LIVE with active listener", ""},
      {"not a proxy VM", with([](auto& f) { f.attribute = answered(404); }), State::Ok, "",
       "not a service-proxy VM", ""},
      {"no bootstrap-status yet, young VM", with([](auto& f) {
         f.bootstrapStatus = answered(404);
         f.uptime = 2min;
       }),
       State::Degraded, "service_proxy.bootstrap_pending", "is not set yet", "wait"},
      {"IN PROGRESS within the grace", with([](auto& f) {
         f.bootstrapStatus = answered(200, "IN PROGRESS");
         f.uptime = 9min;
       }),
       State::Degraded, "service_proxy.bootstrap_pending", "is IN PROGRESS (the VM has been up 9m",
       "bootstrap_grace"},
      {"IN PROGRESS past the grace",
       with([](auto& f) { f.bootstrapStatus = answered(200, "IN PROGRESS"); }), State::Failed,
       "service_proxy.bootstrap_pending", "is IN PROGRESS after 2h", "recreate-instances"},
      {"bootstrap FAILED", with([](auto& f) {
         f.bootstrapStatus = answered(200, "FAILED");
         f.bootstrapFailure = answered(200, "Failed to fetch Envoy: 403 Forbidden\n");
       }),
       State::Failed, "service_proxy.bootstrap_failed",
       "bootstrap-last-failure: Failed to fetch Envoy: 403 Forbidden",
       "gcloud compute instance-groups managed recreate-instances MIG"},
      {"heartbeat stale (RFC 3339)", with([](auto& f) {
         f.heartbeat = answered(200, "2026-11-22T21:48:00Z");
         f.agentFailure = answered(200, "Envoy exited with code 1");
       }),
       State::Failed, "service_proxy.agent_dead",
       "agent-heartbeat is 12m old (2026-11-22T21:48:00Z; stale after 5m): the service proxy "
       "agent is not running; agent-last-failure: Envoy exited with code 1",
       "recreate-instances"},
      {"heartbeat stale (Unix seconds)", with([](auto& f) {
         f.heartbeat =
             answered(200, std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                              (kNow - 6min).time_since_epoch())
                                              .count()));
         f.agentFailure = answered(404);
       }),
       State::Failed, "service_proxy.agent_dead", "agent-heartbeat is 6m old", "recreate"},
      {"no heartbeat at all", with([](auto& f) {
         f.heartbeat = answered(404);
         f.agentFailure = answered(404);
       }),
       State::Failed, "service_proxy.agent_dead", "there is no gce-service-proxy/agent-heartbeat",
       "recreate"},
      {"heartbeat fresh in Unix seconds", with([](auto& f) {
         f.heartbeat =
             answered(200, std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                              (kNow - 30s).time_since_epoch())
                                              .count()));
       }),
       State::Ok, "", "agent heartbeat 30s old", ""},
      {"Envoy admin down", with([](auto& f) { f.ready = adminRefused(); }), State::Failed,
       "service_proxy.envoy_not_ready",
       "admin interface does not answer: connect to 127.0.0.1:15000: Connection refused",
       "/var/log/envoy/envoy.err.log"},
      {"Envoy initializing", with([](auto& f) { f.ready = admin(503, "PRE_INITIALIZING\n"); }),
       State::Failed, "service_proxy.envoy_not_ready", "HTTP 503 PRE_INITIALIZING (not LIVE)",
       "curl -s http://127.0.0.1:15000/ready"},
      {"Envoy without listeners", with([](auto& f) {
         f.listeners = listeners(0);
         f.listeners->warming = 1;
         f.listeners->firstError = "address in use";
       }),
       State::Failed, "service_proxy.envoy_not_ready",
       "no active listener from the control plane (1 warming); last rejected update: address in "
       "use",
       "forwarding rule"},
      {"Envoy 1.7 without /ready, LIVE by /server_info", with([](auto& f) {
         f.ready = admin(404, "");
         f.serverInfo = admin(200,
                              "envoy 5d25f466c3410c0dfa735d7d4358beb76b2da507/1.7.0/Clean/"
                              "RELEASE live 1 1 0");
       }),
       State::Degraded, "service_proxy.envoy_too_old", "Envoy 1.7.0 is older than 1.9.1",
       "update Envoy"},
      {"Envoy 1.9.0", with([](auto& f) {
         f.serverInfo = admin(200, R"({"version": "x/1.9.0/Clean/RELEASE/BoringSSL"})");
       }),
       State::Degraded, "service_proxy.envoy_too_old", "1.9.0", "recreate-instances"},
      {"interception loop",
       with([](auto& f) { f.interception->outbound[0] = redirect(Reach::Yes, Reach::No); }),
       State::Failed, "service_proxy.interception_loop",
       "nat OUTPUT redirects the proxy's own connections back into it: iptables nat "
       "ISTIO_REDIRECT: -A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001 (via -A OUTPUT -p "
       "tcp -j ISTIO_OUTPUT; -A ISTIO_OUTPUT -j ISTIO_REDIRECT); no RETURN for the proxy's uid "
       "1337, the owner of the socket listening on 127.0.0.1:15000, comes before it",
       "iptables -t nat -I OUTPUT 1 -m owner --uid-owner 1337 -j RETURN"},
      {"interception loop, another uid exempted", with([](auto& f) {
         f.interception->outbound[0] = redirect(Reach::Yes, Reach::No);
         f.interception->outbound[0].exemptUids = {"1000"};
       }),
       State::Failed, "service_proxy.interception_loop", "the exclusions before it name uid 1000",
       "iptables -t nat -S"},
      {"no interception chain", with([](auto& f) {
         f.interception->outbound.clear();
         f.interception->inbound.clear();
         f.interception->natChains.clear();
       }),
       State::Failed, "service_proxy.interception_missing",
       "no nat rule redirects outbound connections to the proxy (port 15001); nat chains: none",
       "recreate-instances"},
      {"serving port not intercepted",
       with([](auto& f) { f.interception->inbound[0].servingPorts.clear(); }), State::Failed,
       "service_proxy.interception_missing", "serving port(s) 8080 are not redirected",
       "iptables -t nat -S"},
      {"control plane does not resolve", with([](auto& f) {
         f.controlPlaneName->addresses.clear();
         f.controlPlaneName->error = boost::asio::error::host_not_found;
         f.controlPlaneConnect.reset();
       }),
       State::Failed, "service_proxy.control_plane_unreachable",
       "the control plane trafficdirector.googleapis.com does not resolve",
       "getent hosts trafficdirector.googleapis.com"},
      {"control plane refuses",
       with([](auto& f) { f.controlPlaneConnect->error = boost::asio::error::connection_refused; }),
       State::Failed, "service_proxy.control_plane_unreachable",
       "connect to the control plane trafficdirector.googleapis.com:443 (199.36.153.8:443: "
       "Connection refused)",
       "nc -zv -w 5 trafficdirector.googleapis.com 443"},
      {"control plane times out", with([](auto& f) {
         f.controlPlaneConnect->timedOut = true;
         f.controlPlaneConnect->elapsed = 5s;
       }),
       State::Failed, "service_proxy.control_plane_unreachable", "timeout after 5s",
       "egress firewall"},
      {"scope missing", with([](auto& f) {
         f.scopes = answered(200, "https://www.googleapis.com/auth/devstorage.read_only\n");
       }),
       State::Failed, "service_proxy.scope_missing",
       "lack cloud-platform (it has: https://www.googleapis.com/auth/devstorage.read_only)",
       "--scopes=https://www.googleapis.com/auth/cloud-platform"},
      {"no service account", with([](auto& f) { f.scopes = answered(404); }), State::Failed,
       "service_proxy.scope_missing", "no default service account", "--scopes="},
      {"metadata server down: no verdict", with([](auto& f) { f.bootstrapStatus = refusedCall(); }),
       State::Ok, "",
       "not checked yet: GET instance/guest-attributes/gce-service-proxy/bootstrap-status", ""},
      {"metadata 403 on the attribute",
       with([](auto& f) { f.attribute = answered(403, "Forbidden"); }), State::Failed,
       "proxy.intercepted", "", ""},
      {"guest attributes disabled on the VM (403 on a guest attribute)",
       with([](auto& f) { f.bootstrapStatus = answered(403, "Forbidden"); }), State::Degraded,
       "guest_attributes.disabled", "guest attributes are disabled on this VM",
       "enable-guest-attributes=TRUE"},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    auto assessment = assessServiceProxy(row.facts());
    REQUIRE(assessment.next == ServiceProxyStep::Verdict);
    const ProbeResult& r = assessment.result;
    INFO(r.message << " | fix: " << r.fix);
    CHECK(r.state == row.state);
    CHECK(r.cause == row.cause);
    CHECK_THAT(r.message, Catch::Contains(row.inMessage));
    CHECK_THAT(r.fix, Catch::Contains(row.inFix));
    if (r.state != State::Ok) CHECK_FALSE(r.fix.empty());
  }
}

TEST_CASE("assessServiceProxy: the first finding wins, the others are listed",
          "[diagnosis][service_proxy]") {
  auto f = healthy();
  f.interception->outbound[0] = redirect(Reach::Yes, Reach::No);
  f.scopes = answered(200, "https://www.googleapis.com/auth/compute.readonly");
  f.listeners = listeners(0);
  f.serverInfo = admin(200, R"({"version": "x/1.8.0/Clean/RELEASE/BoringSSL"})");
  auto r = assessServiceProxy(f).result;
  CHECK(r.cause == "service_proxy.interception_loop");
  bool listed = false;
  for (const auto& [key, value] : r.details) {
    if (key == "other_findings") {
      listed = true;
      CHECK(
          value ==
          "service_proxy.scope_missing,service_proxy.envoy_not_ready,service_proxy.envoy_too_old");
    }
  }
  CHECK(listed);

  // What could not be looked at is said, not guessed.
  auto partial = healthy();
  partial.interception->readable = false;
  partial.interception->error = "iptables-nft-save: Permission denied (you must be root)";
  partial.interception->outbound.clear();
  partial.listeners->complete = false;
  partial.listeners->active = 0;
  partial.listeners->bytes = 16 << 20;
  auto ok = assessServiceProxy(partial).result;
  CHECK(ok.state == State::Ok);
  std::string notChecked;
  for (const auto& [key, value] : ok.details)
    if (key == "not_checked") notChecked += value + "|";
  CHECK_THAT(notChecked, Catch::Contains("nat rules: iptables-nft-save: Permission denied"));
  CHECK_THAT(notChecked, Catch::Contains("config_dump: read 16777216 bytes"));
}

TEST_CASE("service proxy: the gce-service-proxy attribute and the heartbeat formats",
          "[diagnosis][service_proxy]") {
  auto spec = parseServiceProxySpec(R"({"api-version": "0.2",
      "proxy-spec": {"proxy-port": 15001, "network": "default", "tracing": "ON"},
      "service": {"serving-ports": [80, "81", 0, 70000, "x"]}, "labels": {"a": "b"}})");
  CHECK(spec.parsed);
  CHECK(spec.proxyPort == 15001);
  CHECK(spec.servingPorts == std::vector<std::uint16_t>{80, 81});
  CHECK_FALSE(parseServiceProxySpec("enabled").parsed);
  CHECK(parseServiceProxySpec("{}").proxyPort == 15001);

  CHECK(parseHeartbeat("2026-11-22T22:00:00Z") == kNow);
  CHECK(parseHeartbeat(" 1795384800\n"));
  CHECK_FALSE(parseHeartbeat("yesterday"));
}
