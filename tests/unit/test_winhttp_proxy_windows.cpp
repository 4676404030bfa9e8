// The WinHTTP proxy setting translated to *_proxy variables, in the forms
// `netsh winhttp set proxy` stores and WinHttpGetDefaultProxyConfiguration returns.

#include <catch2/catch.hpp>

#include "agent/diagnosis/metadata.hpp"
#include "platform/fix_hints.hpp"
#include "platform/windows/winhttp_proxy.hpp"

using namespace guestpulse;
using platform::win::translateWinHttpProxy;

TEST_CASE("WinHTTP proxy: one proxy for both schemes, the bypass list as no_proxy",
          "[proxy][windows]") {
  auto v = translateWinHttpProxy("10.0.0.5:3128", "<local>;*.corp.example;10.*;169.254.169.254");
  CHECK(v.at("http_proxy") == "http://10.0.0.5:3128");
  CHECK(v.at("https_proxy") == "http://10.0.0.5:3128");
  CHECK(v.at("no_proxy") == "corp.example,10.0.0.0/8,169.254.169.254");
}

TEST_CASE("WinHTTP proxy: per-scheme proxies and no proxy at all", "[proxy][windows]") {
  auto v = translateWinHttpProxy("http=proxy:80;https=sproxy:8443", "");
  CHECK(v.at("http_proxy") == "http://proxy:80");
  CHECK(v.at("https_proxy") == "http://sproxy:8443");
  CHECK(v.count("no_proxy") == 0);
  CHECK(translateWinHttpProxy("", "<local>").empty());
  CHECK(translateWinHttpProxy("ftp=f:21", "").empty());
  auto blocks = translateWinHttpProxy("p:1", "169.254.*.*;192.168.1.*;a*b.example");
  CHECK(blocks.at("no_proxy") == "169.254.0.0/16,192.168.1.0/24,a*b.example");
}

TEST_CASE("WinHTTP proxy: the diagnosis names WinHTTP and its netsh fix", "[proxy][windows]") {
  platform::ProxyFacts facts;
  facts.sources.push_back({"process environment", true, {}, {}});
  facts.sources.push_back(
      {"WinHTTP", true, {}, translateWinHttpProxy("10.0.0.5:3128", "<local>;*.corp.example")});
  // The source name the inspector gives must be the one the fix table expects.
  REQUIRE(platform::fixHints().systemProxySource == "WinHTTP");
  auto exposures = findProxyExposures(facts, "metadata.google.internal", "169.254.169.254");
  REQUIRE(exposures.size() == 1);
  CHECK(exposures[0].source == "WinHTTP");

  MetadataFacts f;
  f.endpoint = "169.254.169.254:80";
  f.endpointAddress = "169.254.169.254";
  f.hostname = "metadata.google.internal";
  HttpResult ok;
  ok.response = HttpResponse{200, "OK", {{"Metadata-Flavor", "Google"}}, "123"};
  f.call.attempts.push_back({ok, Duration{0}});
  f.call.flavorOk = true;
  f.proxies = exposures;
  auto result = diagnoseMetadata(f);
  CHECK(result.cause == "proxy.no_proxy_missing");
  CHECK(result.message.find("(WinHTTP)") != std::string::npos);
  CHECK(result.fix ==
        "exempt the metadata server from the WinHTTP proxy: netsh winhttp set proxy "
        "proxy-server=\"http://10.0.0.5:3128\" "
        "bypass-list=\"<local>;169.254.169.254;metadata.google.internal\" (netsh winhttp show "
        "proxy shows the current bypass list; keep its entries)");
}
