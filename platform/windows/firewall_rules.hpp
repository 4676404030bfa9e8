#pragma once
// Windows Firewall rules as plain values, and the decision which of them block new TCP
// connections to an address on ports 80/443. The COM reader (inspector_firewall_windows.cpp)
// fills these from INetFwPolicy2; unit tests fill them from recorded API results, since
// wine has no firewall to read.
//
// The rules of Windows Firewall with Advanced Security that matter here:
//  - an enabled outbound block rule wins over every allow rule (short of "allow if
//    secure" with override, which needs IPsec and is not looked at);
//  - a profile's default outbound action applies when no rule matches; it is Allow unless
//    an administrator changed it, and only counts while the firewall is on for a profile
//    that is active;
//  - a rule applies in the profiles it names (NET_FW_PROFILE2_* bits) and only when one of
//    them is active; the fields use the formats INetFwRule returns: RemoteAddresses
//    "*" or "169.254.169.254/255.255.255.255,10.0.0.0/255.0.0.0,1.2.3.4-1.2.3.9,LocalSubnet",
//    RemotePorts "*" or "80,443,8000-8080", Protocol 6 (TCP), 17, 256 (any).

#include <string>
#include <vector>

#include "platform/host_facts.hpp"

namespace guestpulse::platform::win {

struct FirewallRuleRecord {
  std::string name;
  std::string grouping;
  bool enabled = true;
  bool outbound = true;        // NET_FW_RULE_DIR_OUT
  bool block = true;           // NET_FW_ACTION_BLOCK; false: ALLOW
  long profiles = 0x7fffffff;  // NET_FW_PROFILE2_ALL
  long protocol = 256;         // NET_FW_IP_PROTOCOL_ANY
  std::string remoteAddresses = "*";
  std::string remotePorts = "*";
  std::string localAddresses = "*";
  std::string localPorts = "*";
  std::string applicationName;  // empty: every program
  std::string serviceName;      // empty or "*": every service
  std::string interfaceTypes = "All";
};

struct FirewallProfileState {
  long activeProfiles = 0;  // bits of the profiles in use now (NET_FW_PROFILE2_*)
  // Per active profile: the firewall is on, and its default outbound action blocks.
  struct Profile {
    long type = 0;  // NET_FW_PROFILE2_DOMAIN 1, PRIVATE 2, PUBLIC 4
    bool enabled = true;
    bool defaultOutboundBlock = false;
  };
  std::vector<Profile> profiles;
};

// "Public", "Domain, Private", ...
std::string profileNames(long bits);

// What the rules do to TCP connections to `ipv4` on ports 80 and 443.
FirewallFacts evaluateFirewall(const std::string& ipv4, const FirewallProfileState& state,
                               const std::vector<FirewallRuleRecord>& rules);

}  // namespace guestpulse::platform::win
