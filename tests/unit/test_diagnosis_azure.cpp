// diagnoseAzure, table-driven: every cause of the Azure IMDS diagnosis (the README's cause
// table), from facts built by hand, with the Linux fix words.

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>
#include <functional>

#include "agent/diagnosis/azure.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

MetadataResult answered(std::vector<int> statuses, std::string body = {}) {
  MetadataResult r;
  for (int status : statuses) {
    HttpResult http;
    http.response = HttpResponse{status, "", {{"Content-Type", "application/json"}}, body};
    http.elapsed = 3ms;
    r.attempts.push_back({http, 500ms});
  }
  r.flavorOk = true;
  return r;
}

MetadataResult failedAt(HttpStep step, boost::system::error_code ec, bool timedOut = false) {
  MetadataResult r;
  HttpResult http;
  http.failedStep = step;
  http.error = ec;
  http.timedOut = timedOut;
  http.peer = "169.254.169.254:80";
  http.elapsed = 1s;
  r.attempts.push_back({http, 0ms});
  return r;
}

AzureFacts facts(MetadataResult call, Duration updatingFor = 0ms) {
  AzureFacts f;
  f.network.endpoint = "169.254.169.254:80";
  f.call = std::move(call);
  f.updatingFor = updatingFor;
  return f;
}

struct Row {
  const char* name;
  std::function<AzureFacts()> facts;
  State state;
  const char* cause;
  const char* inMessage;
  const char* inFix;
};

}  // namespace

TEST_CASE("diagnoseAzure: every cause from its facts", "[diagnosis][azure][linux-words]") {
  const std::vector<Row> rows = {
      {"healthy", [] { return facts(answered({200}, R"({"compute":{}})")); }, State::Ok, "",
       "GET /metadata/instance answered in", ""},
      {"400: header or api-version did not arrive",
       [] {
         return facts(
             answered({400}, R"({"error":"Bad request. Required metadata header not specified"})"));
       },
       State::Failed, "azure_imds.bad_request", "Required metadata header not specified",
       "NO_PROXY=169.254.169.254"},
      {"410 for a few seconds: the update is under way",
       [] {
         return facts(answered({410, 410, 410}), 4s);
       },
       State::Degraded, "azure_imds.updating", "IMDS is being updated", "retry for up to 1m10s"},
      {"410 for longer than 70 s", [] { return facts(answered({410}), 75s); }, State::Failed,
       "azure_imds.updating", "longer than the 1m10s", "az vm redeploy"},
      {"404 while updating",
       [] {
         return facts(answered({404, 404}), 2s);
       },
       State::Degraded, "azure_imds.not_found", "Not Found", "keeps retrying"},
      {"404 past the grace", [] { return facts(answered({404}), 70s); }, State::Failed,
       "azure_imds.not_found", "Not Found", "Resource health"},
      {"429",
       [] {
         return facts(answered({429, 429}));
       },
       State::Degraded, "azure_imds.throttled", "Too Many Requests) (2 attempts",
       "5 requests a second"},
      {"500 past the retry budget",
       [] {
         return facts(answered({500, 503}));
       },
       State::Failed, "azure_imds.unavailable", "past the retry budget", "Azure status page"},
      {"405", [] { return facts(answered({405})); }, State::Failed, "azure_imds.http_error",
       "HTTP 405", "NO_PROXY"},
      {"403 through a NAT redirect",
       [] {
         AzureFacts f = facts(answered({403}));
         platform::FirewallFinding rule;
         rule.tool = "iptables";
         rule.table = "nat";
         rule.chain = "OUTPUT";
         rule.action = platform::FirewallAction::Redirect;
         rule.ruleText = "-A OUTPUT -d 169.254.169.254/32 -j REDIRECT --to-ports 3128";
         rule.fixCommand = "iptables -t nat -D OUTPUT -d 169.254.169.254/32 -j REDIRECT";
         platform::FirewallFacts fw;
         fw.readable = true;
         fw.redirecting.push_back(rule);
         f.network.firewall = fw;
         return f;
       },
       State::Failed, "proxy.intercepted", "NAT rule:", "remove the redirect"},
      {"refused",
       [] { return facts(failedAt(HttpStep::Connect, asio::error::connection_refused)); },
       State::Failed, "net.connection_refused", "GET /metadata/instance: connect to",
       "iptables -S OUTPUT"},
      {"no answer in time",
       [] { return facts(failedAt(HttpStep::Read, boost::beast::error::timeout, true)); },
       State::Failed, "net.timeout", "timeout", "did not answer in time"},
      {"a proxy variable would catch other software's requests",
       [] {
         AzureFacts f = facts(answered({200}));
         f.network.proxies.push_back(
             {"/etc/environment", "HTTP_PROXY", "http://proxy:3128", {"http://169.254.169.254"}});
         return f;
       },
       State::Degraded, "proxy.no_proxy_missing", "HTTP_PROXY=http://proxy:3128",
       "set NO_PROXY=169.254.169.254"},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      ProbeResult result = diagnoseAzure(row.facts());
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

TEST_CASE("diagnoseAzure: the request it makes pins an api-version", "[diagnosis][azure]") {
  CHECK(azureInstanceTarget() == "/metadata/instance?api-version=2021-02-01");
  // The grace is Microsoft's "retry for a max of 70 seconds".
  CHECK(kAzureUpdatingGrace == 70s);
}

TEST_CASE("diagnoseAzure: the server's words are quoted safely", "[diagnosis][azure]") {
  ProbeResult r =
      diagnoseAzure(facts(answered({400}, std::string("bad\n\x01") + std::string(400, 'x'))));
  CHECK(r.message.find('\n') == std::string::npos);
  CHECK(r.message.find('\x01') == std::string::npos);
  CHECK_THAT(r.message, Catch::Contains("..."));
}
