#include <catch2/catch.hpp>

#include "platform/common/hosts_file.hpp"

using namespace guestpulse::platform;

namespace {

// /etc/hosts as a GCE image writes it (google-guest-agent adds the "Added by Google" lines).
const char* kGceHosts =
    "127.0.0.1\tlocalhost\n"
    "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
    "ff02::1\t\tip6-allnodes\n"
    "ff02::2\t\tip6-allrouters\n"
    "\n"
    "10.128.0.2 instance-1.us-central1-a.c.my-project.internal instance-1  # Added by Google\n"
    "169.254.169.254 metadata.google.internal  # Added by Google\n";

}  // namespace

TEST_CASE("hosts file: the GCE metadata mapping is found", "[inspector][hosts]") {
  auto hosts = HostsFile::parse(kGceHosts);
  CHECK(hosts.entries().size() == 6);
  CHECK(hosts.invalidLines().empty());
  CHECK(hosts.addressesFor("metadata.google.internal") ==
        std::vector<std::string>{"169.254.169.254"});

  auto entries = hosts.entriesFor("metadata.google.internal");
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].line == 7);
  CHECK(entries[0].rawLine == "169.254.169.254 metadata.google.internal  # Added by Google");
  CHECK(hosts.entriesForAddress("169.254.169.254").size() == 1);
}

TEST_CASE("hosts file: names compare case-insensitively, trailing dot ignored",
          "[inspector][hosts]") {
  auto hosts = HostsFile::parse(kGceHosts);
  CHECK(hosts.addressesFor("Metadata.Google.Internal") ==
        std::vector<std::string>{"169.254.169.254"});
  CHECK(hosts.addressesFor("metadata.google.internal.") ==
        std::vector<std::string>{"169.254.169.254"});
  auto upper = HostsFile::parse("169.254.169.254   METADATA.GOOGLE.INTERNAL.\n");
  CHECK(upper.addressesFor("metadata.google.internal") ==
        std::vector<std::string>{"169.254.169.254"});
  // A suffix is not a match: hosts files have no domain semantics.
  CHECK(hosts.addressesFor("google.internal").empty());
  CHECK(hosts.addressesFor("").empty());
}

TEST_CASE("hosts file: aliases, IPv6 and several lines for one name", "[inspector][hosts]") {
  auto hosts = HostsFile::parse(
      "127.0.0.1 localhost\n"
      "::1 localhost ip6-localhost\n"
      "127.0.0.1\tlocalhost.localdomain\tlocalhost\n"
      "10.0.0.5 db db.internal   database  \n");
  // Each address once, in file order; both families.
  CHECK(hosts.addressesFor("localhost") == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(hosts.addressesFor("ip6-localhost") == std::vector<std::string>{"::1"});
  CHECK(hosts.addressesFor("database") == std::vector<std::string>{"10.0.0.5"});
  CHECK(hosts.entriesFor("localhost").size() == 3);
  CHECK(hosts.entriesForAddress("0:0::1").size() == 1);
  CHECK(isIpv6Address(hosts.addressesFor("localhost")[1]));
  CHECK(isIpv4Address("169.254.169.254"));
  CHECK_FALSE(isIpv4Address("169.254.169"));
}

TEST_CASE("hosts file: comments, blank lines, CRLF and no final newline", "[inspector][hosts]") {
  auto hosts = HostsFile::parse(
      "# 169.254.169.254 metadata.google.internal\r\n"
      "   \t  \r\n"
      "   # indented comment\n"
      "10.1.1.1 a.example # trailing comment with 169.254.169.254 metadata.google.internal\r\n"
      "10.1.1.2\tb.example#glued comment");
  CHECK(hosts.entries().size() == 2);
  CHECK(hosts.addressesFor("metadata.google.internal").empty());
  CHECK(hosts.addressesFor("a.example") == std::vector<std::string>{"10.1.1.1"});
  CHECK(hosts.addressesFor("b.example") == std::vector<std::string>{"10.1.1.2"});
  CHECK(hosts.entries()[0].line == 4);
  CHECK(hosts.invalidLines().empty());
}

TEST_CASE("hosts file: broken lines are kept with a reason", "[inspector][hosts]") {
  auto hosts = HostsFile::parse(
      "169.254.169.254metadata.google.internal\n"
      "169.254.169.254\n"
      "metadata.google.internal 169.254.169.254\n"
      "169.254.169.254 metadata.google.internal\n");
  REQUIRE(hosts.invalidLines().size() == 3);
  CHECK(hosts.invalidLines()[0].line == 1);
  CHECK_THAT(hosts.invalidLines()[0].reason, Catch::Contains("is not an IP address"));
  CHECK_THAT(hosts.invalidLines()[1].reason, Catch::Contains("has no name"));
  CHECK(hosts.invalidLines()[2].rawLine == "metadata.google.internal 169.254.169.254");
  // The valid line still counts.
  CHECK(hosts.addressesFor("metadata.google.internal") ==
        std::vector<std::string>{"169.254.169.254"});
}

TEST_CASE("hosts file: a wrong mapping is reported as it is", "[inspector][hosts]") {
  auto hosts = HostsFile::parse(
      "127.0.0.1 metadata.google.internal\n"
      "169.254.169.254 metadata.google.internal\n");
  // The first line wins for the resolver; the caller sees both, in order.
  CHECK(hosts.addressesFor("metadata.google.internal") ==
        std::vector<std::string>{"127.0.0.1", "169.254.169.254"});
  CHECK(HostsFile::parse("").entries().empty());
  CHECK(normalizeHostName("Metadata.Google.Internal.") == "metadata.google.internal");
}
