#include <catch2/catch.hpp>

#include "platform/linux/resolver_config.hpp"

using namespace guestpulse::platform;

TEST_CASE("resolv.conf: a GCE instance's file", "[inspector][resolver]") {
  auto config = parseResolverConfig(
      "domain c.my-project.internal\n"
      "search us-central1-a.c.my-project.internal. c.my-project.internal. google.internal.\n"
      "nameserver 169.254.169.254\n");
  CHECK(config.nameservers == std::vector<std::string>{"169.254.169.254"});
  CHECK(config.hasNameserver("169.254.169.254"));
  // search came after domain, so it wins.
  CHECK(config.search == std::vector<std::string>{"us-central1-a.c.my-project.internal.",
                                                  "c.my-project.internal.", "google.internal."});
  CHECK(config.ndots == 1);
  CHECK(config.timeoutSeconds == 5);
  CHECK(config.attempts == 2);
  CHECK_FALSE(config.usesSystemdResolvedStub());
  CHECK(config.warnings.empty());
}

TEST_CASE("resolv.conf: the systemd-resolved stub", "[inspector][resolver]") {
  auto stub = parseResolverConfig(
      "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\n"
      "# Do not edit.\n"
      "#\n"
      "nameserver 127.0.0.53\n"
      "options edns0 trust-ad\n"
      "search us-central1-a.c.my-project.internal c.my-project.internal google.internal\n");
  CHECK(stub.usesSystemdResolvedStub());
  CHECK_FALSE(stub.hasNameserver("169.254.169.254"));
  CHECK(stub.otherOptions == std::vector<std::string>{"edns0", "trust-ad"});
  CHECK(stub.search.size() == 3);

  CHECK(parseResolverConfig("nameserver 127.0.0.54\n").usesSystemdResolvedStub());
  CHECK_FALSE(parseResolverConfig("nameserver 127.0.0.1\n").usesSystemdResolvedStub());
  CHECK(isSystemdResolvedStubAddress("127.0.0.53"));
  CHECK_FALSE(isSystemdResolvedStubAddress("127.0.0.530"));

  // The upstream file systemd-resolved writes: every server it knows, search "." = none.
  auto upstream = parseResolverConfig(
      "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\n"
      "nameserver 169.254.169.254\n"
      "search .\n");
  CHECK(upstream.nameservers == std::vector<std::string>{"169.254.169.254"});
  CHECK(upstream.search.empty());
  CHECK(kSystemdResolvedUpstreamPath == std::string("/run/systemd/resolve/resolv.conf"));
}

TEST_CASE("resolv.conf: options are read and capped like glibc", "[inspector][resolver]") {
  auto config = parseResolverConfig(
      "nameserver 10.0.0.2\n"
      "options ndots:5 timeout:2 attempts:3 rotate single-request-reopen\n");
  CHECK(config.ndots == 5);
  CHECK(config.timeoutSeconds == 2);
  CHECK(config.attempts == 3);
  CHECK(config.rotate);
  CHECK(config.otherOptions == std::vector<std::string>{"single-request-reopen"});

  auto capped =
      parseResolverConfig("nameserver 10.0.0.2\noptions ndots:99 timeout:600 attempts:50\n");
  CHECK(capped.ndots == 15);
  CHECK(capped.timeoutSeconds == 30);
  CHECK(capped.attempts == 5);

  auto junk = parseResolverConfig("nameserver 10.0.0.2\noptions ndots:x timeout: attempts:-1\n");
  CHECK(junk.ndots == 1);
  CHECK(junk.timeoutSeconds == 5);
  CHECK(junk.attempts == 2);

  // Several options lines add up; a later value overrides.
  auto twice = parseResolverConfig("options ndots:2\noptions\tndots:3 timeout:1\nnameserver ::1\n");
  CHECK(twice.ndots == 3);
  CHECK(twice.timeoutSeconds == 1);
}

TEST_CASE("resolv.conf: nameserver limits, bad values and comments", "[inspector][resolver]") {
  auto config = parseResolverConfig(
      "; a comment in the old style\n"
      "nameserver 10.0.0.2\n"
      "nameserver 169.254.169.254x\n"
      "nameserver\n"
      "nameserver fe80::1%eth0\n"
      "nameserver\t8.8.8.8   # trailing\n"
      "nameserver 1.1.1.1\n"
      "  nameserver 9.9.9.9\n"
      "#nameserver 169.254.169.254\n");
  CHECK(config.nameservers == std::vector<std::string>{"10.0.0.2", "fe80::1%eth0", "8.8.8.8"});
  // glibc ignores the indented line altogether.
  CHECK(config.ignoredNameservers == std::vector<std::string>{"1.1.1.1"});
  CHECK_FALSE(config.hasNameserver("169.254.169.254"));
  CHECK(config.hasNameserver("fe80::1"));
  REQUIRE(config.warnings.size() == 4);
  CHECK_THAT(config.warnings[0], Catch::Contains("line 3"));
  CHECK_THAT(config.warnings[0], Catch::Contains("169.254.169.254x"));
  CHECK_THAT(config.warnings[2], Catch::Contains("only the first 3"));
  CHECK_THAT(config.warnings[3], Catch::Contains("indented"));
}

TEST_CASE("resolv.conf: domain after search replaces it, empty file", "[inspector][resolver]") {
  auto config = parseResolverConfig("search a.example b.example\ndomain c.example extra\n");
  CHECK(config.search == std::vector<std::string>{"c.example"});
  auto empty = parseResolverConfig("");
  CHECK(empty.nameservers.empty());
  REQUIRE(empty.warnings.size() == 1);
  CHECK_THAT(empty.warnings[0], Catch::Contains("no valid nameserver"));
}
