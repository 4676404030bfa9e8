// diagnoseEc2, table-driven: every cause of the EC2 IMDSv2 diagnosis (the README's cause
// table), from facts built by hand, with the Linux fix words.

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>
#include <functional>

#include "agent/diagnosis/ec2.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

HttpResult answer(int status, std::string body = {}) {
  HttpResult http;
  http.response = HttpResponse{status, "", {{"Server", "EC2ws"}}, std::move(body)};
  http.elapsed = 2ms;
  return http;
}

HttpResult failure(HttpStep step, boost::system::error_code ec, bool timedOut = false) {
  HttpResult http;
  http.failedStep = step;
  http.error = ec;
  http.timedOut = timedOut;
  http.peer = "169.254.169.254:80";
  http.elapsed = 1s;
  return http;
}

MetadataResult call(std::vector<HttpResult> attempts) {
  MetadataResult r;
  for (auto& a : attempts) r.attempts.push_back({std::move(a), 200ms});
  r.flavorOk = r.attempts.back().http.ok();
  return r;
}
MetadataResult call(HttpResult one) { return call(std::vector<HttpResult>{std::move(one)}); }

const HttpResult kReadTimeout = failure(HttpStep::Read, boost::beast::error::timeout, true);

Ec2Facts base() {
  Ec2Facts f;
  f.network.endpoint = "169.254.169.254:80";
  f.network.metadataAddress = "169.254.169.254";
  return f;
}

// A fresh token, then the GET's outcome.
Ec2Facts withToken(HttpResult get) {
  Ec2Facts f = base();
  f.token = call(answer(200, std::string(56, 'A')));
  f.get = call(std::move(get));
  return f;
}

// The token PUT's outcome alone.
Ec2Facts tokenOnly(MetadataResult put) {
  Ec2Facts f = base();
  f.token = std::move(put);
  return f;
}

HttpResult tcpConnected() {
  HttpResult tcp;
  tcp.peer = "169.254.169.254:80";
  return tcp;
}

platform::FirewallFacts firewallWith(platform::FirewallAction action, std::string text,
                                     std::string fix) {
  platform::FirewallFinding rule;
  rule.tool = "iptables";
  rule.table = action == platform::FirewallAction::Redirect ? "nat" : "filter";
  rule.chain = "OUTPUT";
  rule.action = action;
  rule.ruleText = std::move(text);
  rule.fixCommand = std::move(fix);
  platform::FirewallFacts fw;
  fw.destination = "169.254.169.254";
  fw.readable = true;
  if (action == platform::FirewallAction::Redirect)
    fw.redirecting.push_back(rule);
  else
    fw.blocking.push_back(rule);
  return fw;
}

struct Row {
  const char* name;
  std::function<Ec2Facts()> facts;
  State state;
  const char* cause;
  const char* inMessage;
  const char* inFix;
};

}  // namespace

TEST_CASE("diagnoseEc2: every cause from its facts", "[diagnosis][ec2][linux-words]") {
  using platform::FirewallAction;
  const std::vector<Row> rows = {
      {"healthy with a new token", [] { return withToken(answer(200, "i-0123456789abcdef0")); },
       State::Ok, "", "with an IMDSv2 token answered in", ""},
      {"healthy with a cached token",
       [] {
         Ec2Facts f = base();
         f.get = call(answer(200, "i-0123456789abcdef0"));
         f.tokenFresh = false;
         return f;
       },
       State::Ok, "", "GET /latest/meta-data/instance-id", ""},
      {"token PUT answered 400", [] { return tokenOnly(call(answer(400))); }, State::Failed,
       "imds.bad_token_request", "X-aws-ec2-metadata-token-ttl-seconds",
       "NO_PROXY=169.254.169.254"},
      {"token PUT answered 403: the endpoint is off",
       [] {
         Ec2Facts f = tokenOnly(call(answer(403)));
         f.instanceId = "i-0123456789abcdef0";
         return f;
       },
       State::Failed, "imds.disabled", "turned off",
       "aws ec2 modify-instance-metadata-options --instance-id i-0123456789abcdef0 "
       "--http-endpoint enabled"},
      {"token PUT answered 403 through a NAT redirect",
       [] {
         Ec2Facts f = tokenOnly(call(answer(403)));
         f.network.firewall = firewallWith(
             FirewallAction::Redirect,
             "-A OUTPUT -d 169.254.169.254/32 -j REDIRECT --to-ports 3128",
             "iptables -t nat -D OUTPUT -d 169.254.169.254/32 -j REDIRECT --to-ports 3128");
         return f;
       },
       State::Failed, "proxy.intercepted", "NAT rule:", "remove the redirect"},
      {"GET with a fresh token answered 401", [] { return withToken(answer(401)); }, State::Failed,
       "imds.token_rejected", "a token IMDS issued moments before", "X-aws-ec2-metadata-token"},
      {"cached token refused, and the new one too",
       [] {
         Ec2Facts f = withToken(answer(401));
         f.cachedTokenRejected = true;
         return f;
       },
       State::Failed, "imds.token_rejected", "after the cached token was refused too",
       "describe-instances"},
      {"GET answered 403 after a token was had", [] { return withToken(answer(403)); },
       State::Failed, "imds.disabled", "Forbidden", "--http-endpoint enabled"},
      {"token answer dies at the hop limit",
       [] {
         Ec2Facts f = tokenOnly(call({kReadTimeout, kReadTimeout}));
         f.tcp = tcpConnected();
         f.tokenless = call(answer(401));
         return f;
       },
       State::Failed, "imds.hop_limit", "a GET without a token was answered HTTP 401",
       "--http-put-response-hop-limit 2"},
      {"hop limit with IMDSv1 allowed says the SDKs would hide it",
       [] {
         Ec2Facts f = tokenOnly(call(kReadTimeout));
         f.tcp = tcpConnected();
         f.tokenless = call(answer(200, "i-0123456789abcdef0"));
         return f;
       },
       State::Failed, "imds.hop_limit", "IMDSv1 is allowed here", "hop-limit 2"},
      {"token PUT unanswered and GETs unanswered too: not the hop limit",
       [] {
         Ec2Facts f = tokenOnly(call(kReadTimeout));
         f.tcp = tcpConnected();
         f.tokenless = call(kReadTimeout);
         return f;
       },
       State::Failed, "net.timeout", "a GET without a token got no answer either",
       "did not answer in time"},
      {"token PUT answered 429",
       [] {
         return tokenOnly(call({answer(429), answer(429), answer(429)}));
       },
       State::Degraded, "imds.throttled", "Too Many Requests) (3 attempts", "ss -tnp dst"},
      {"timeouts after 429s are throttling under load",
       [] {
         return tokenOnly(call({answer(429), kReadTimeout}));
       },
       State::Degraded, "imds.throttled", "throttled under load", "guestpulse backs off"},
      {"GET answered 429 with a cached token",
       [] {
         Ec2Facts f = base();
         f.tokenFresh = false;
         f.get = call(answer(429));
         return f;
       },
       State::Degraded, "imds.throttled", "Too Many Requests", "cache"},
      {"GET answered 404", [] { return withToken(answer(404)); }, State::Failed, "imds.not_found",
       "Not Found", "fd00:ec2::254"},
      {"token PUT answered 404", [] { return tokenOnly(call(answer(404))); }, State::Failed,
       "imds.not_found", "PUT /latest/api/token", "AWS_EC2_METADATA_SERVICE_ENDPOINT"},
      {"503 past the retry budget", [] { return withToken(answer(503)); }, State::Failed,
       "imds.unavailable", "past the retry budget", "AWS Health Dashboard"},
      {"405 on the PUT", [] { return tokenOnly(call(answer(405))); }, State::Failed,
       "imds.http_error", "HTTP 405", "endpoint configuration"},
      {"a token answer without a usable token", [] { return tokenOnly(call(answer(200, ""))); },
       State::Failed, "imds.http_error", "without a usable token", "NO_PROXY=169.254.169.254"},
      {"token PUT refused by a REJECT rule",
       [] {
         Ec2Facts f = tokenOnly(call(failure(HttpStep::Connect, asio::error::connection_refused)));
         f.network.firewall =
             firewallWith(FirewallAction::Reject, "-A OUTPUT -d 169.254.169.254/32 -j REJECT",
                          "iptables -D OUTPUT -d 169.254.169.254/32 -j REJECT");
         return f;
       },
       State::Failed, "net.connection_refused", "PUT /latest/api/token: connect to",
       "remove the rule: iptables -D OUTPUT -d 169.254.169.254/32 -j REJECT"},
      {"GET with a cached token refused by a REJECT rule",
       [] {
         Ec2Facts f = base();
         f.tokenFresh = false;
         f.get = call(failure(HttpStep::Connect, asio::error::connection_refused));
         return f;
       },
       State::Failed, "net.connection_refused", "GET /latest/meta-data/instance-id: connect",
       "iptables -S OUTPUT"},
      {"token PUT dropped: connect timeout",
       [] {
         return tokenOnly(call(failure(HttpStep::Connect, boost::beast::error::timeout, true)));
       },
       State::Failed, "net.timeout", "timeout", "ip route get 169.254.169.254"},
      {"no route",
       [] {
         Ec2Facts f = tokenOnly(call(failure(HttpStep::Connect, asio::error::network_unreachable)));
         platform::RouteFacts route;
         route.destination = "169.254.169.254";
         route.status = platform::RouteStatus::NoRoute;
         f.network.route = route;
         return f;
       },
       State::Failed, "net.no_route", "route to 169.254.169.254", "restore the route"},
      {"an endpoint name that does not resolve and is not in the hosts file",
       [] {
         Ec2Facts f = tokenOnly(call(failure(HttpStep::Resolve, asio::error::host_not_found)));
         f.network.endpoint = "instance-data:80";
         platform::HostsFacts hosts;
         hosts.path = "/etc/hosts";
         hosts.name = "instance-data";
         hosts.readable = true;
         f.network.hosts = hosts;
         return f;
       },
       State::Failed, "dns.hosts_mapping_missing", "/etc/hosts has no entry for instance-data",
       "add '169.254.169.254 instance-data' to /etc/hosts"},
      {"IMDS answers, but a proxy variable would catch other software's requests",
       [] {
         Ec2Facts f = withToken(answer(200, "i-0123456789abcdef0"));
         f.network.proxies.push_back({"process environment",
                                      "http_proxy",
                                      "http://10.0.0.5:3128",
                                      {"http://169.254.169.254"}});
         return f;
       },
       State::Degraded, "proxy.no_proxy_missing", "http_proxy=http://10.0.0.5:3128",
       "set NO_PROXY=169.254.169.254"},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      ProbeResult result = diagnoseEc2(row.facts());
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

TEST_CASE("diagnoseEc2: a token answer that never came is not a v1 success", "[diagnosis][ec2]") {
  // IMDSv1 answering 200 must not turn the run into OK: the SDKs' silent fallback is the
  // problem guestpulse reports.
  Ec2Facts f = tokenOnly(call(kReadTimeout));
  f.tcp = tcpConnected();
  f.tokenless = call(answer(200, "i-0123456789abcdef0"));
  CHECK(diagnoseEc2(f).state == State::Failed);
}

TEST_CASE("diagnoseEc2: an IPv6 endpoint's fixes name its address", "[diagnosis][ec2]") {
  Ec2Facts f = tokenOnly(call(answer(400)));
  f.network.endpoint = "[fd00:ec2::254]:80";
  f.network.metadataAddress = "fd00:ec2::254";
  CHECK_THAT(diagnoseEc2(f).fix, Catch::Contains("NO_PROXY=fd00:ec2::254"));
}
