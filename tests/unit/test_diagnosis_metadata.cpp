// diagnoseMetadata, table-driven: every cause of the layered metadata diagnosis (the
// README's cause table), from facts built by hand, with the Linux fix words.

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>
#include <functional>

#include "agent/diagnosis/metadata.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

MetadataResult failedAt(HttpStep step, boost::system::error_code ec, bool timedOut = false) {
  MetadataResult r;
  HttpResult http;
  http.failedStep = step;
  http.error = ec;
  http.timedOut = timedOut;
  http.peer = "169.254.169.254:80";
  http.elapsed = 2s;
  r.attempts.push_back({http, 0ms});
  return r;
}

MetadataResult answered(int status, bool flavor = true) {
  MetadataResult r;
  HttpResult http;
  http.response = HttpResponse{status, "", {}, "1234"};
  if (flavor) http.response->headers.emplace_back("Metadata-Flavor", "Google");
  http.elapsed = 3ms;
  r.attempts.push_back({http, 0ms});
  r.flavorOk = flavor;
  return r;
}

MetadataFacts baseFacts(MetadataResult call) {
  MetadataFacts f;
  f.endpoint = "169.254.169.254:80";
  f.endpointAddress = "169.254.169.254";
  f.hostname = "metadata.google.internal";
  f.call = std::move(call);
  return f;
}

platform::HostsFacts hosts(std::vector<std::string> addresses) {
  platform::HostsFacts h;
  h.path = "/etc/hosts";
  h.name = "metadata.google.internal";
  h.readable = true;
  for (const auto& a : addresses)
    h.matchingLines.push_back("3: " + a + " metadata.google.internal");
  h.addresses = std::move(addresses);
  return h;
}

NameResolution resolved(std::vector<std::string> addresses) {
  NameResolution n;
  n.name = "metadata.google.internal";
  n.addresses = std::move(addresses);
  if (n.addresses.empty()) n.error = asio::error::host_not_found;
  return n;
}

platform::ResolverFacts resolvConf(std::vector<std::string> servers) {
  platform::ResolverFacts r;
  r.source = "/etc/resolv.conf";
  r.readable = true;
  r.nameservers = std::move(servers);
  return r;
}

platform::FirewallFinding rule(platform::FirewallAction action, std::string text, std::string fix) {
  platform::FirewallFinding f;
  f.tool = "iptables";
  f.table = action == platform::FirewallAction::Redirect ? "nat" : "filter";
  f.chain = "OUTPUT";
  f.action = action;
  f.ruleText = std::move(text);
  f.fixCommand = std::move(fix);
  return f;
}

platform::FirewallFacts firewallWith(platform::FirewallFinding finding) {
  platform::FirewallFacts fw;
  fw.destination = "169.254.169.254";
  fw.readable = true;
  if (finding.action == platform::FirewallAction::Redirect)
    fw.redirecting.push_back(std::move(finding));
  else
    fw.blocking.push_back(std::move(finding));
  return fw;
}

struct Row {
  const char* name;
  std::function<MetadataFacts()> facts;
  State state;
  const char* cause;
  const char* inMessage;
  const char* inFix;
};

}  // namespace

TEST_CASE("diagnoseMetadata: every cause from its facts", "[diagnosis][metadata][linux-words]") {
  using platform::FirewallAction;
  const std::vector<Row> rows = {
      {"healthy",
       [] {
         auto f = baseFacts(answered(200));
         f.name = resolved({"169.254.169.254"});
         f.hosts = hosts({"169.254.169.254"});
         f.resolver = resolvConf({"169.254.169.254"});
         return f;
       },
       State::Ok, "", "answered in", ""},
      {"endpoint name does not resolve, hosts file not read",
       [] { return baseFacts(failedAt(HttpStep::Resolve, asio::error::host_not_found)); },
       State::Failed, "dns.resolve_failed", "resolve", "/etc/hosts"},
      {"endpoint name does not resolve, hosts file lacks it",
       [] {
         auto f = baseFacts(failedAt(HttpStep::Resolve, asio::error::host_not_found));
         f.hosts = hosts({});
         return f;
       },
       State::Failed, "dns.hosts_mapping_missing", "/etc/hosts has no entry",
       "add '169.254.169.254 metadata.google.internal' to /etc/hosts"},
      {"address answers, name fails, hosts file lacks it",
       [] {
         auto f = baseFacts(answered(200));
         f.name = resolved({});
         f.hosts = hosts({});
         return f;
       },
       State::Failed, "dns.hosts_mapping_missing", "does not resolve",
       "add '169.254.169.254 metadata.google.internal' to /etc/hosts"},
      {"address answers, name fails although the hosts file maps it",
       [] {
         auto f = baseFacts(answered(200));
         f.name = resolved({});
         f.hosts = hosts({"169.254.169.254"});
         return f;
       },
       State::Failed, "dns.resolve_failed", "the hosts file maps it", "nsswitch.conf"},
      {"name resolves elsewhere through the hosts file",
       [] {
         auto f = baseFacts(answered(200));
         f.name = resolved({"10.0.0.9"});
         f.hosts = hosts({"10.0.0.9"});
         return f;
       },
       State::Failed, "dns.wrong_address", "resolves to 10.0.0.9 (from 3:",
       "correct the hosts file line to '169.254.169.254 metadata.google.internal'"},
      {"name resolves elsewhere through DNS",
       [] {
         auto f = baseFacts(answered(200));
         f.name = resolved({"10.0.0.9"});
         f.hosts = hosts({});
         return f;
       },
       State::Failed, "dns.wrong_address", "(from DNS)", "fix the DNS record"},
      {"resolv.conf does not use the metadata server",
       [] {
         auto f = baseFacts(answered(200));
         f.name = resolved({"169.254.169.254"});
         f.resolver = resolvConf({"8.8.8.8"});
         return f;
       },
       State::Degraded, "dns.nameserver_not_metadata", "/etc/resolv.conf lists 8.8.8.8",
       "nameserver 169.254.169.254"},
      {"systemd-resolved forwards elsewhere",
       [] {
         auto f = baseFacts(answered(200));
         f.name = resolved({"169.254.169.254"});
         auto r = resolvConf({"127.0.0.53"});
         r.localStub = true;
         r.stubName = "systemd-resolved";
         r.upstreamSource = "/run/systemd/resolve/resolv.conf";
         r.upstreamReadable = true;
         r.upstreamNameservers = {"1.1.1.1"};
         f.resolver = r;
         return f;
       },
       State::Degraded, "dns.nameserver_not_metadata", "systemd-resolved forwards to 1.1.1.1",
       "resolvectl dns"},
      {"a proxy variable would catch metadata requests",
       [] {
         auto f = baseFacts(answered(200));
         f.name = resolved({"169.254.169.254"});
         f.proxies.push_back({"/etc/environment",
                              "http_proxy",
                              "http://10.0.0.5:3128",
                              {"http://169.254.169.254"}});
         return f;
       },
       State::Degraded, "proxy.no_proxy_missing",
       "http_proxy=http://10.0.0.5:3128 (/etc/environment)",
       "to no_proxy and NO_PROXY (/etc/environment)"},
      {"refused, with the REJECT rule found",
       [] {
         auto f = baseFacts(failedAt(HttpStep::Connect, asio::error::connection_refused));
         f.firewall =
             firewallWith(rule(FirewallAction::Reject, "-A OUTPUT -d 169.254.169.254/32 -j REJECT",
                               "iptables -D OUTPUT -d 169.254.169.254/32 -j REJECT"));
         return f;
       },
       State::Failed, "net.connection_refused", "firewall rule: iptables filter OUTPUT",
       "remove the rule: iptables -D OUTPUT -d 169.254.169.254/32 -j REJECT"},
      {"refused, firewall not readable",
       [] {
         auto f = baseFacts(failedAt(HttpStep::Connect, asio::error::connection_refused));
         f.firewall = platform::FirewallFacts{};
         f.firewall->error = "iptables-save: Permission denied (you must be root)";
         return f;
       },
       State::Failed, "net.connection_refused", "firewall rules not readable",
       "iptables -S OUTPUT"},
      {"connect timeout, with the DROP rule found",
       [] {
         auto f = baseFacts(failedAt(HttpStep::Connect, boost::beast::error::timeout, true));
         f.firewall =
             firewallWith(rule(FirewallAction::Drop, "-A OUTPUT -d 169.254.169.254/32 -j DROP",
                               "iptables -D OUTPUT -d 169.254.169.254/32 -j DROP"));
         return f;
       },
       State::Failed, "net.timeout", "timeout", "remove the rule: iptables -D OUTPUT"},
      {"connect timeout, no rule found",
       [] { return baseFacts(failedAt(HttpStep::Connect, boost::beast::error::timeout, true)); },
       State::Failed, "net.timeout", "timeout", "ip route get 169.254.169.254"},
      {"no route in the kernel (the socket only saw a timeout)",
       [] {
         auto f = baseFacts(failedAt(HttpStep::Connect, boost::beast::error::timeout, true));
         platform::RouteFacts route;
         route.destination = "169.254.169.254";
         route.status = platform::RouteStatus::NoRoute;
         route.error = "Network is unreachable";
         f.route = route;
         return f;
       },
       State::Failed, "net.no_route", "route to 169.254.169.254: no route",
       "ip route get 169.254.169.254"},
      {"network unreachable from the socket",
       [] { return baseFacts(failedAt(HttpStep::Connect, asio::error::network_unreachable)); },
       State::Failed, "net.no_route", "connect to", "restore the route"},
      {"another connect error",
       [] { return baseFacts(failedAt(HttpStep::Connect, asio::error::access_denied)); },
       State::Failed, "net.connect_failed", "connect to", "network path"},
      {"connection reset before an answer",
       [] { return baseFacts(failedAt(HttpStep::Read, asio::error::connection_reset)); },
       State::Failed, "net.connection_reset", "read response", "tcp-reset"},
      {"read timed out",
       [] { return baseFacts(failedAt(HttpStep::Read, boost::beast::error::timeout, true)); },
       State::Failed, "net.timeout", "timeout", "did not answer in time"},
      {"not HTTP",
       [] { return baseFacts(failedAt(HttpStep::Read, boost::beast::http::error::bad_version)); },
       State::Failed, "mds.bad_response", "read response", "proxy"},
      {"answered without Metadata-Flavor, with the NAT redirect found",
       [] {
         auto f = baseFacts(answered(200, false));
         f.firewall =
             firewallWith(rule(FirewallAction::Redirect,
                               "-A OUTPUT -d 169.254.169.254/32 -p tcp -j REDIRECT --to-ports 8080",
                               "iptables -t nat -D OUTPUT -d 169.254.169.254/32 -p tcp -j "
                               "REDIRECT --to-ports 8080"));
         return f;
       },
       State::Failed, "proxy.intercepted", "NAT rule:", "remove the redirect: iptables -t nat -D"},
      {"answered without Metadata-Flavor", [] { return baseFacts(answered(200, false)); },
       State::Failed, "proxy.intercepted", "without the Metadata-Flavor: Google header",
       "iptables -t nat -S OUTPUT"},
      {"403 for a forwarded request", [] { return baseFacts(answered(403)); }, State::Failed,
       "proxy.intercepted", "Forbidden", "NO_PROXY"},
      {"503 past the retry budget", [] { return baseFacts(answered(503)); }, State::Failed,
       "mds.unavailable", "past the retry budget", "maintenance"},
      {"429", [] { return baseFacts(answered(429)); }, State::Degraded, "mds.throttled",
       "Too Many Requests", "ss -tnp dst 169.254.169.254"},
      {"400", [] { return baseFacts(answered(400)); }, State::Failed, "mds.header_rejected",
       "Bad Request", "iptables -t mangle -S"},
      {"404 for instance/id", [] { return baseFacts(answered(404)); }, State::Failed,
       "mds.http_error", "HTTP 404", "endpoint configuration"},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      ProbeResult result = diagnoseMetadata(row.facts());
      INFO(result.cause << ": " << result.message << " | fix: " << result.fix);
      CHECK(result.state == row.state);
      CHECK(result.cause == row.cause);
      CHECK_THAT(result.message, Catch::Contains(row.inMessage));
      CHECK_THAT(result.fix, Catch::Contains(row.inFix));
      if (result.state != State::Ok) {
        CHECK_FALSE(result.message.empty());
        CHECK_FALSE(result.fix.empty());
      }
    }
  }
}

TEST_CASE("diagnoseMetadata: checks that do not apply stay silent", "[diagnosis][metadata]") {
  auto f = baseFacts(answered(200));
  f.name = resolved({"169.254.169.254"});
  SECTION("off GCE the resolver is not judged") {
    f.gce = false;
    f.resolver = resolvConf({"8.8.8.8"});
    CHECK(diagnoseMetadata(f).state == State::Ok);
  }
  SECTION("behind a stub whose upstream cannot be read, nothing is claimed") {
    auto r = resolvConf({"127.0.0.53"});
    r.localStub = true;
    r.upstreamReadable = false;
    f.resolver = r;
    CHECK(diagnoseMetadata(f).state == State::Ok);
  }
  SECTION("a route lookup that failed is no evidence of a missing route") {
    auto down = baseFacts(failedAt(HttpStep::Connect, asio::error::connection_refused));
    platform::RouteFacts route;
    route.status = platform::RouteStatus::LookupFailed;
    down.route = route;
    CHECK(diagnoseMetadata(down).cause == "net.connection_refused");
  }
  SECTION("a REJECT rule does not explain a timeout") {
    auto down = baseFacts(failedAt(HttpStep::Connect, boost::beast::error::timeout, true));
    down.firewall = firewallWith(rule(platform::FirewallAction::Reject, "-A OUTPUT -j REJECT",
                                      "iptables -D OUTPUT -j REJECT"));
    CHECK_THAT(diagnoseMetadata(down).fix, !Catch::Contains("iptables -D"));
  }
}

TEST_CASE("fix words: placeholders are filled, unknown ones kept", "[diagnosis]") {
  CHECK(platform::fillHint("ip route get {address}", {{"address", "169.254.169.254"}}) ==
        "ip route get 169.254.169.254");
  CHECK(platform::fillHint("{a}{b} {c}", {{"a", "1"}, {"b", "2"}}) == "12 {c}");
  CHECK(platform::fillHint("no placeholder {", {}) == "no placeholder {");
  // Every entry of this OS's table is filled in: a cause never gets an empty fix.
  const platform::FixHints& h = platform::fixHints();
  for (const std::string* text :
       {&h.hostsFile, &h.resolverConfig, &h.hostsFileIgnored, &h.restoreNameserver,
        &h.restoreNameserverBehindStub, &h.showRoute, &h.restoreRoute, &h.listBlockRules,
        &h.findRejectRule, &h.listRedirects, &h.listRewrites, &h.findClients, &h.guestAgent,
        &h.guestAgentStatus, &h.guestAgentLog, &h.checkClock})
    CHECK_FALSE(text->empty());
}
