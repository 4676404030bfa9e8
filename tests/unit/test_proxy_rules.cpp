#include <catch2/catch.hpp>

#include "agent/diagnosis/proxy_rules.hpp"
#include "platform/common/proxy_variables.hpp"

using namespace guestpulse;

TEST_CASE("proxy env: nothing set means direct", "[inspector][proxy]") {
  ProxyEnvironment env(EnvironmentMap{{"PATH", "/usr/bin"}});
  CHECK_FALSE(env.proxyFor("http", "169.254.169.254", 80));
  CHECK_FALSE(env.configuredProxy("https"));
  CHECK(env.metadataRequestsThroughProxy().empty());
  CHECK_FALSE(env.bypassesProxy("metadata.google.internal", 80));
}

TEST_CASE("proxy env: scheme variables, lowercase first, all_proxy last", "[inspector][proxy]") {
  ProxyEnvironment env({{"http_proxy", "http://lower:3128"},
                        {"HTTP_PROXY", "http://upper:3128"},
                        {"HTTPS_PROXY", "http://secure:3129"},
                        {"ALL_PROXY", "socks5://all:1080"}});
  CHECK(env.proxyFor("http", "example.com", 80) == std::optional<std::string>("http://lower:3128"));
  CHECK(env.proxyFor("https", "example.com", 443) ==
        std::optional<std::string>("http://secure:3129"));
  CHECK(env.proxyFor("ftp", "example.com", 21) == std::optional<std::string>("socks5://all:1080"));
  auto setting = env.proxySettingFor("https", "example.com", 443);
  REQUIRE(setting);
  CHECK(setting->variable == "HTTPS_PROXY");

  ProxyEnvironment both({{"https_proxy", "http://a:1"}, {"HTTPS_PROXY", "http://b:2"}});
  CHECK(both.proxyFor("https", "x", 443) == std::optional<std::string>("http://a:1"));
  // An empty lowercase value counts as unset.
  ProxyEnvironment empty({{"https_proxy", ""}, {"HTTPS_PROXY", "http://b:2"}});
  CHECK(empty.proxyFor("https", "x", 443) == std::optional<std::string>("http://b:2"));
  ProxyEnvironment bare(EnvironmentMap{{"http_proxy", "proxy.corp:3128"}});
  CHECK(bare.proxyFor("http", "x", 80) == std::optional<std::string>("proxy.corp:3128"));
}

TEST_CASE("proxy env: uppercase HTTP_PROXY, curl and CGI rules", "[inspector][proxy]") {
  EnvironmentMap vars{{"HTTP_PROXY", "http://upper:3128"}};
  // Go and Python honour it, so the default rules do.
  CHECK(ProxyEnvironment(vars).proxyFor("http", "169.254.169.254", 80));
  // curl never reads uppercase HTTP_PROXY (httpoxy).
  CHECK_FALSE(ProxyEnvironment(vars, ProxyRules::Curl).proxyFor("http", "169.254.169.254", 80));
  // Under CGI (REQUEST_METHOD set) nobody trusts it.
  vars["REQUEST_METHOD"] = "GET";
  ProxyEnvironment cgi(vars);
  CHECK_FALSE(cgi.proxyFor("http", "169.254.169.254", 80));
  REQUIRE(cgi.warnings().size() == 1);
  CHECK_THAT(cgi.warnings()[0], Catch::Contains("REQUEST_METHOD"));
  // HTTPS_PROXY is not affected by either rule.
  ProxyEnvironment secure({{"HTTPS_PROXY", "http://p:1"}}, ProxyRules::Curl);
  CHECK(secure.proxyFor("https", "x", 443));
}

TEST_CASE("proxy env: no_proxy domains match the domain and its subdomains", "[inspector][proxy]") {
  for (const char* entry : {"google.internal", ".google.internal", "*.google.internal",
                            "GOOGLE.INTERNAL.", " google.internal "}) {
    INFO(entry);
    ProxyEnvironment env({{"http_proxy", "http://p:3128"}, {"no_proxy", entry}});
    CHECK(env.bypassesProxy("metadata.google.internal", 80));
    CHECK(env.bypassesProxy("Metadata.Google.Internal.", 80));
    CHECK(env.bypassesProxy("google.internal", 80));
    CHECK_FALSE(env.bypassesProxy("xgoogle.internal", 80));
    CHECK_FALSE(env.bypassesProxy("google.internal.evil.com", 80));
    CHECK_FALSE(env.bypassesProxy("169.254.169.254", 80));  // names never cover literals
  }
}

TEST_CASE("proxy env: no_proxy list syntax, wildcard, IPs and CIDR", "[inspector][proxy]") {
  ProxyEnvironment env(
      {{"http_proxy", "http://p:3128"},
       {"no_proxy", "localhost,127.0.0.1, 10.0.0.0/8\t.corp.example  fd00::/8,::1"}});
  CHECK(env.bypassesProxy("localhost", 80));
  CHECK(env.bypassesProxy("127.0.0.1", 80));
  CHECK(env.bypassesProxy("10.200.3.4", 8080));
  CHECK(env.bypassesProxy("build.corp.example", 443));
  CHECK(env.bypassesProxy("fd00::1", 80));
  CHECK(env.bypassesProxy("[::1]", 80));
  CHECK_FALSE(env.bypassesProxy("11.0.0.1", 80));
  CHECK_FALSE(env.bypassesProxy("169.254.169.254", 80));
  CHECK(env.warnings().empty());

  ProxyEnvironment linkLocal({{"http_proxy", "http://p:3128"}, {"no_proxy", "169.254.0.0/16"}});
  CHECK(linkLocal.bypassesProxy("169.254.169.254", 80));
  CHECK_FALSE(linkLocal.bypassesProxy("metadata.google.internal", 80));

  ProxyEnvironment star({{"https_proxy", "http://p:3128"}, {"NO_PROXY", "*"}});
  CHECK(star.bypassesProxy("anything.example", 443));
  CHECK_FALSE(star.proxyFor("https", "metadata.google.internal", 443));
}

TEST_CASE("proxy env: no_proxy entries with ports", "[inspector][proxy]") {
  ProxyEnvironment env(
      {{"http_proxy", "http://p:3128"},
       {"no_proxy", "metadata.google.internal:80,169.254.169.254:443,[fd20:ce::254]:80"}});
  CHECK(env.bypassesProxy("metadata.google.internal", 80));
  CHECK_FALSE(env.bypassesProxy("metadata.google.internal", 443));
  CHECK(env.bypassesProxy("169.254.169.254", 443));
  CHECK_FALSE(env.bypassesProxy("169.254.169.254", 80));
  CHECK(env.bypassesProxy("fd20:ce::254", 80));
}

TEST_CASE("proxy env: no_proxy wins over NO_PROXY and conflicts are named", "[inspector][proxy]") {
  ProxyEnvironment env({{"http_proxy", "http://p:3128"},
                        {"no_proxy", "metadata.google.internal"},
                        {"NO_PROXY", "169.254.169.254"}});
  CHECK(env.noProxyVariable() == "no_proxy");
  CHECK(env.noProxyValue() == "metadata.google.internal");
  CHECK(env.bypassesProxy("metadata.google.internal", 80));
  CHECK_FALSE(env.bypassesProxy("169.254.169.254", 80));
  REQUIRE(env.warnings().size() == 1);
  CHECK_THAT(env.warnings()[0], Catch::Contains("differ"));

  ProxyEnvironment bad(
      {{"http_proxy", "http://p:3128"}, {"no_proxy", "169.254.0.0/40,host:99999,ok"}});
  CHECK(bad.warnings().size() == 2);
  CHECK(bad.bypassesProxy("ok", 80));
}

TEST_CASE("proxy env: which metadata requests go through a proxy", "[inspector][proxy]") {
  // The classic breakage: a corporate proxy with no_proxy covering only the IP.
  ProxyEnvironment env({{"http_proxy", "http://proxy.corp:3128"},
                        {"https_proxy", "http://proxy.corp:3128"},
                        {"no_proxy", "localhost,169.254.169.254"}});
  auto proxied = env.metadataRequestsThroughProxy();
  REQUIRE(proxied.size() == 2);
  CHECK(proxied[0].host == "metadata.google.internal");
  CHECK(proxied[0].scheme == "http");
  CHECK(proxied[0].port == 80);
  CHECK(proxied[0].proxy.variable == "http_proxy");
  CHECK(proxied[0].proxy.value == "http://proxy.corp:3128");
  CHECK(proxied[1].scheme == "https");
  CHECK(proxied[1].port == 443);

  ProxyEnvironment fixed(
      {{"http_proxy", "http://proxy.corp:3128"}, {"no_proxy", "169.254.169.254,.google.internal"}});
  CHECK(fixed.metadataRequestsThroughProxy().empty());

  ProxyEnvironment onlyHttps(EnvironmentMap{{"https_proxy", "http://proxy.corp:3128"}});
  auto secure = onlyHttps.metadataRequestsThroughProxy();
  REQUIRE(secure.size() == 2);
  CHECK(secure[0].host == "169.254.169.254");
  CHECK(secure[0].scheme == "https");
}

TEST_CASE("proxy env: only the proxy-relevant variables are kept", "[inspector][proxy]") {
  auto relevant = platform::proxyRelevantVariables({{"PATH", "/bin"},
                                                    {"http_proxy", "a"},
                                                    {"No_Proxy", "b"},
                                                    {"REQUEST_METHOD", "GET"},
                                                    {"proxy", "c"},
                                                    {"HOME", "/root"}});
  CHECK(relevant ==
        EnvironmentMap{{"http_proxy", "a"}, {"No_Proxy", "b"}, {"REQUEST_METHOD", "GET"}});
}
