// The diagnosis in Windows words: the same reasoning as on Linux (test_diagnosis_*.cpp),
// with the fixes an operator runs on Windows, from platform::fixHints().

#include <boost/asio/error.hpp>
#include <catch2/catch.hpp>

#include "agent/diagnosis/metadata.hpp"
#include "agent/diagnosis/metadata_call.hpp"
#include "platform/fix_hints.hpp"
#include "platform/windows/firewall_rules.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

MetadataFacts connectFailed(boost::system::error_code ec, bool timedOut = false) {
  MetadataFacts f;
  f.endpoint = "169.254.169.254:80";
  f.endpointAddress = "169.254.169.254";
  f.hostname = "metadata.google.internal";
  HttpResult http;
  http.failedStep = HttpStep::Connect;
  http.error = ec;
  http.timedOut = timedOut;
  http.peer = "169.254.169.254:80";
  f.call.attempts.push_back({http, Duration{0}});
  return f;
}

}  // namespace

TEST_CASE("Windows fixes: the hosts file, the route, the firewall and the tools",
          "[diagnosis][windows]") {
  const auto& h = platform::fixHints();
  const std::string tail = "\\System32\\drivers\\etc\\hosts";
  REQUIRE(h.hostsFile.size() > tail.size());
  CHECK(h.hostsFile.substr(h.hostsFile.size() - tail.size()) == tail);
  CHECK(h.listBlockRules == "netsh advfirewall firewall show rule name=all dir=out");
  CHECK(h.showRoute == "route print {address}");
  CHECK(h.systemProxySource == "WinHTTP");
  CHECK(h.guestAgentStatus == "Get-Service GCEAgent");
  CHECK(h.checkClock == "w32tm /query /status");
}

TEST_CASE(
    "Windows fixes: a missing route is restored with route /p on the default "
    "route's interface",
    "[diagnosis][windows]") {
  auto f = connectFailed(asio::error::network_unreachable);
  platform::RouteFacts route;
  route.destination = "169.254.169.254";
  route.status = platform::RouteStatus::NoRoute;
  route.error = "The network location cannot be reached. (error 1231)";
  route.defaultRouteInterface = "7";
  f.route = route;
  auto result = diagnoseMetadata(f);
  CHECK(result.cause == "net.no_route");
  CHECK(result.fix.find("route /p add 169.254.169.254 mask 255.255.255.255 0.0.0.0 if 7") !=
        std::string::npos);

  // Without a default route either, the fix says where to find the index.
  f.route->defaultRouteInterface.clear();
  auto unknown = diagnoseMetadata(f);
  CHECK(unknown.fix.find("0.0.0.0 if <IF of the 0.0.0.0 route>") != std::string::npos);
  // The call alone (no route facts) gives the same words.
  auto bare = diagnoseMetadataCall(
      connectFailed(asio::error::network_unreachable).call,
      {"169.254.169.254:80", "GET instance/id", "169.254.169.254", "metadata.google.internal"});
  CHECK(bare.cause == "net.no_route");
  CHECK(bare.fix.find("route /p add 169.254.169.254 mask 255.255.255.255 0.0.0.0 if <IF") !=
        std::string::npos);
}

TEST_CASE("Windows fixes: a connect Windows Firewall refused quotes the block rule",
          "[diagnosis][windows]") {
  // Windows fails a connect its firewall blocks with WSAEACCES at once.
  auto f = connectFailed(asio::error::access_denied);
  platform::win::FirewallProfileState state;
  state.activeProfiles = 4;
  state.profiles.push_back({4, true, false});
  platform::win::FirewallRuleRecord rule;
  rule.name = "Block GCE metadata";
  rule.remoteAddresses = "169.254.169.254/255.255.255.255";
  rule.protocol = 6;
  f.firewall = platform::win::evaluateFirewall("169.254.169.254", state, {rule});
  auto result = diagnoseMetadata(f);
  CHECK(result.cause == "net.connect_failed");
  CHECK(result.message.find("firewall rule: Windows Firewall public outbound: name=\"Block GCE "
                            "metadata\"") != std::string::npos);
  CHECK(result.fix ==
        "remove the rule: netsh advfirewall firewall delete rule name=\"Block GCE metadata\" "
        "dir=out");

  // A timeout with the rule quoted the same way.
  auto timedOut = connectFailed(asio::error::timed_out, true);
  timedOut.firewall = f.firewall;
  CHECK(diagnoseMetadata(timedOut).fix.rfind(
            "remove the rule: netsh advfirewall firewall delete rule", 0) == 0);
}
