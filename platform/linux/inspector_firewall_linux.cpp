// The firewall evidence of the metadata diagnosis: the listings (rule_listing.hpp) read
// by the I/O-free scanners in firewall_scan.hpp for one address.

#include "platform/inspector.hpp"
#include "platform/linux/firewall_scan.hpp"
#include "platform/linux/rule_listing.hpp"

namespace guestpulse::platform {

FirewallFacts linuxFirewall(const std::string& ipv4, const RouteFacts& route,
                            const InspectorOptions& options) {
  FirewallFacts facts;
  facts.destination = ipv4;
  FirewallScanOptions scanOptions;
  if (route.found() && !route.local) scanOptions.outInterface = route.interface;
  auto keep = [&](const FirewallScan& scan) {
    facts.blocking.insert(facts.blocking.end(), scan.blocking.begin(), scan.blocking.end());
    facts.redirecting.insert(facts.redirecting.end(), scan.redirecting.begin(),
                             scan.redirecting.end());
  };
  ListingReaders readers;
  readers.iptables = [&](const std::string&, const std::string& command, const std::string& text) {
    scanOptions.command = command;
    FirewallScan scan = scanIptablesRules(text, ipv4, scanOptions);
    if (scan.parsed) keep(scan);
    return scan;
  };
  readers.nft = [&](const std::string& text, const std::vector<std::string>& skipTables) {
    scanOptions.command = "nft";
    scanOptions.skipTables = skipTables;
    FirewallScan scan = scanNftRuleset(text, ipv4, scanOptions);
    if (scan.parsed) keep(scan);
    return scan;
  };
  ListingOutcome outcome = readFirewallListings(options, {}, readers);
  facts.readable = outcome.readable;
  facts.error = std::move(outcome.error);
  facts.sources = std::move(outcome.sources);
  facts.problems = std::move(outcome.problems);
  return facts;
}

}  // namespace guestpulse::platform
