// evaluateFirewall against rule records in the shapes INetFwRule returns them
// (RemoteAddresses "169.254.169.254/255.255.255.255", RemotePorts "80,443", Protocol 6 or
// 256, profile bits). Wine has no Windows Firewall to read, so these records stand in for
// the API's answers; the field formats follow Microsoft's INetFwRule documentation and
// what `Get-NetFirewallRule | Get-NetFirewallAddressFilter` shows for such rules.

#include <catch2/catch.hpp>

#include "platform/windows/firewall_rules.hpp"

using namespace guestpulse::platform;
using win::FirewallProfileState;
using win::FirewallRuleRecord;

namespace {

constexpr long kDomain = 1, kPrivate = 2, kPublic = 4;
const std::string kMds = "169.254.169.254";

FirewallProfileState publicOn(bool defaultBlock = false) {
  FirewallProfileState s;
  s.activeProfiles = kPublic;
  s.profiles.push_back({kPublic, true, defaultBlock});
  return s;
}

FirewallRuleRecord blockRule(std::string name, std::string addresses, long protocol = 6,
                             std::string ports = "*") {
  FirewallRuleRecord r;
  r.name = std::move(name);
  r.remoteAddresses = std::move(addresses);
  r.protocol = protocol;
  r.remotePorts = std::move(ports);
  return r;
}

}  // namespace

TEST_CASE("firewall (Windows): a block rule for the metadata server is found and quoted",
          "[firewall][windows]") {
  auto facts = win::evaluateFirewall(
      kMds, publicOn(), {blockRule("Block metadata", "169.254.169.254/255.255.255.255", 6, "80")});
  REQUIRE(facts.readable);
  REQUIRE(facts.blocking.size() == 1);
  const auto& f = facts.blocking[0];
  CHECK(f.tool == "Windows Firewall");
  CHECK(f.chain == "outbound");
  CHECK(f.action == FirewallAction::Drop);
  CHECK(f.conditional);  // port 80 only: 443 still passes
  CHECK(f.ruleText ==
        "name=\"Block metadata\" dir=out action=block profile=any protocol=TCP "
        "remoteip=169.254.169.254/255.255.255.255 remoteport=80");
  CHECK(f.fixCommand == "netsh advfirewall firewall delete rule name=\"Block metadata\" dir=out");
  CHECK(f.describe().find("Windows Firewall public outbound: name=\"Block metadata\"") == 0);
}

TEST_CASE("firewall (Windows): addresses, ranges, prefixes and keywords", "[firewall][windows]") {
  struct Row {
    const char* addresses;
    bool found;
    bool conditional;
  };
  const Row rows[] = {
      {"*", true, false},
      {"169.254.0.0/255.255.0.0", true, false},
      {"169.254.0.0/16", true, false},
      {"10.0.0.1,169.254.169.250-169.254.169.255", true, false},
      {"169.254.169.254", true, false},
      {"10.0.0.0/255.0.0.0", false, false},
      {"169.254.169.255", false, false},
      {"fe80::/64", false, false},
      {"LocalSubnet", true, true},  // decided by Windows at run time
      {"DNS,DHCP", true, true},     // on GCE both are the metadata server
  };
  for (const auto& row : rows) {
    INFO(row.addresses);
    auto facts = win::evaluateFirewall(kMds, publicOn(), {blockRule("r", row.addresses)});
    CHECK(facts.blocking.size() == (row.found ? 1u : 0u));
    if (row.found && !facts.blocking.empty())
      CHECK(facts.blocking[0].conditional == row.conditional);
  }
}

TEST_CASE("firewall (Windows): what a rule does not cover is left out", "[firewall][windows]") {
  auto udp = blockRule("udp", "*", 17);
  auto otherPorts = blockRule("ssh", "*", 6, "22,3389");
  auto disabled = blockRule("off", "*");
  disabled.enabled = false;
  auto inbound = blockRule("in", "*");
  inbound.outbound = false;
  auto allow = blockRule("allow", "*");
  allow.block = false;
  auto privateOnly = blockRule("private", "*");
  privateOnly.profiles = kPrivate;
  auto facts = win::evaluateFirewall(kMds, publicOn(),
                                     {udp, otherPorts, disabled, inbound, allow, privateOnly});
  CHECK(facts.readable);
  CHECK(facts.blocking.empty());
}

TEST_CASE("firewall (Windows): program-, service- and range-limited rules are conditional",
          "[firewall][windows]") {
  auto program = blockRule("prog", "169.254.169.254");
  program.applicationName = "C:\\Program Files\\App\\app.exe";
  auto service = blockRule("svc", "169.254.169.254");
  service.serviceName = "wuauserv";
  auto range = blockRule("range", "169.254.169.254", 6, "1-1024");
  auto any = blockRule("any protocol", "169.254.169.254", 256);
  auto facts = win::evaluateFirewall(kMds, publicOn(), {program, service, range, any});
  REQUIRE(facts.blocking.size() == 4);
  // Unconditional ones first.
  CHECK_FALSE(facts.blocking[0].conditional);
  CHECK(facts.blocking[0].ruleText.find("name=\"range\"") == 0);
  CHECK_FALSE(facts.blocking[1].conditional);
  CHECK(facts.blocking[1].protocol == "any");
  CHECK(facts.blocking[2].owner == "program C:\\Program Files\\App\\app.exe");
  CHECK(facts.blocking[3].owner == "service wuauserv");
}

TEST_CASE("firewall (Windows): the profile's default outbound block, unless allowed",
          "[firewall][windows]") {
  auto facts = win::evaluateFirewall(kMds, publicOn(true), {});
  REQUIRE(facts.blocking.size() == 1);
  CHECK(facts.blocking[0].isPolicy);
  CHECK(facts.blocking[0].ruleText == "default outbound action: block (profile public)");
  CHECK(facts.blocking[0].fixCommand.find("action=allow protocol=TCP remoteip=169.254.169.254 "
                                          "remoteport=80,443") != std::string::npos);

  auto allowAll = blockRule("GCE metadata", "169.254.169.254");
  allowAll.block = false;
  CHECK(win::evaluateFirewall(kMds, publicOn(true), {allowAll}).blocking.empty());

  auto allowOne = allowAll;
  allowOne.applicationName =
      "C:\\Program Files\\Google\\Compute Engine\\agent\\GCEWindowsAgent.exe";
  auto partly = win::evaluateFirewall(kMds, publicOn(true), {allowOne});
  REQUIRE(partly.blocking.size() == 1);
  CHECK(partly.blocking[0].conditional);
  CHECK(partly.blocking[0].exemptedBy.find("GCEWindowsAgent.exe") != std::string::npos);
}

TEST_CASE("firewall (Windows): a profile with the firewall off blocks nothing",
          "[firewall][windows]") {
  FirewallProfileState off;
  off.activeProfiles = kDomain;
  off.profiles.push_back({kDomain, false, true});
  auto facts = win::evaluateFirewall(kMds, off, {blockRule("r", "*")});
  CHECK(facts.readable);
  CHECK(facts.blocking.empty());
  REQUIRE(facts.problems.size() == 1);
  CHECK(facts.problems[0] == "Windows Firewall is off in the active profile (domain)");
  CHECK(win::profileNames(kDomain | kPublic) == "domain,public");
  CHECK(win::profileNames(7) == "any");
}
