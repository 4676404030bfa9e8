#pragma once
// The parts of the Windows inspector that talk to the OS, one file each.

#include <string>

#include "platform/host_facts.hpp"

namespace guestpulse::platform::win {

// The DNS servers of every adapter that is up (GetAdaptersAddresses), in adapter order.
ResolverFacts adapterDnsServers();
// GetBestRoute2 for the address; with no route, the default route's interface index.
RouteFacts routeTo(const std::string& ipv4);
// Windows Firewall through INetFwPolicy2, judged by evaluateFirewall().
FirewallFacts readFirewall(const std::string& ipv4);

}  // namespace guestpulse::platform::win
