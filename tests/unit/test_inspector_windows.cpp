// The Windows inspector on the machine it runs on (under wine in CI): every method
// answers within its contract — facts, or a reason it could not gather them — and reads
// what the test put in place (a hosts file, the process environment).

#include <windows.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "platform/fix_hints.hpp"
#include "platform/inspector.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;

TEST_CASE("inspector (Windows): the hosts file the options name", "[inspector][windows]") {
  testing::TempDir dir;
  const auto path = dir / "hosts";
  {
    std::ofstream out(path, std::ios::binary);
    out << "# Copyright (c) 1993-2009 Microsoft Corp.\r\n"
           "127.0.0.1 localhost\r\n"
           "169.254.169.254 metadata.google.internal  # added by GCE\r\n"
           "169.254.169.254metadata.google.internal\r\n";
  }
  platform::InspectorOptions options;
  options.hostsPath = path.string();
  auto inspector = platform::makeInspector(options);
  auto facts = inspector->hostsEntry("Metadata.Google.Internal.");
  REQUIRE(facts.readable);
  CHECK(facts.addresses == std::vector<std::string>{"169.254.169.254"});
  CHECK(facts.entryCount == 2);
  REQUIRE(facts.invalidLines.size() == 1);
  CHECK(facts.invalidLines[0].rfind("4: ", 0) == 0);

  options.hostsPath = (dir / "missing").string();
  auto missing = platform::makeInspector(options)->hostsEntry("x");
  CHECK_FALSE(missing.readable);
  CHECK(missing.error.find("(error 2)") != std::string::npos);
}

TEST_CASE("inspector (Windows): the default hosts file is the system's", "[inspector][windows]") {
  auto facts = platform::makeInspector()->hostsEntry("localhost");
  CHECK(facts.path == platform::fixHints().hostsFile);
  CHECK((facts.readable || !facts.error.empty()));
}

TEST_CASE("inspector (Windows): the route to loopback is found", "[inspector][windows]") {
  auto route = platform::makeInspector()->routeTo("127.0.0.1");
  INFO(route.error);
  CHECK(route.status == platform::RouteStatus::Found);
  CHECK_FALSE(route.interface.empty());
  auto bad = platform::makeInspector()->routeTo("not-an-address");
  CHECK(bad.status == platform::RouteStatus::LookupFailed);
}

TEST_CASE("inspector (Windows): adapter DNS settings are read", "[inspector][windows]") {
  auto resolver = platform::makeInspector()->resolver();
  INFO(resolver.error);
  CHECK(resolver.readable);
  CHECK(resolver.source.rfind("adapter DNS settings", 0) == 0);
}

TEST_CASE("inspector (Windows): proxies from the environment and from WinHTTP",
          "[inspector][windows]") {
  ::SetEnvironmentVariableW(L"HTTPS_PROXY", L"http://10.9.8.7:3128");
  auto facts = platform::makeInspector()->proxyEnvironment();
  ::SetEnvironmentVariableW(L"HTTPS_PROXY", nullptr);
  REQUIRE(facts.sources.size() == 2);
  CHECK(facts.sources[0].name == "process environment");
  CHECK(facts.sources[0].variables.at("HTTPS_PROXY") == "http://10.9.8.7:3128");
  CHECK(facts.sources[0].variables.count("PATH") == 0);  // only proxy variables are kept
  CHECK(facts.sources[1].name == platform::fixHints().systemProxySource);
  CHECK((facts.sources[1].readable || !facts.sources[1].error.empty()));
}

TEST_CASE("inspector (Windows): firewall rules are read, or the reason is given",
          "[inspector][windows]") {
  auto facts = platform::makeInspector()->firewall("169.254.169.254");
  CHECK(facts.destination == "169.254.169.254");
  if (facts.readable) {
    CHECK(facts.error.empty());
    REQUIRE_FALSE(facts.sources.empty());
    CHECK(facts.sources[0].rfind("Windows Firewall (INetFwPolicy2)", 0) == 0);
  } else {
    INFO(facts.error);
    CHECK(facts.error.rfind("Windows Firewall rules could not be read: ", 0) == 0);
  }
}
