#pragma once
// Internal to the Linux inspector: lists the firewall with the tools the operator would
// use (iptables-nft-save, iptables-legacy-save, nft -j list ruleset) and hands each
// listing to a reader, which parses it with the I/O-free scanners of firewall_scan.hpp.
// Read-only: only listing commands are ever run, with no shell, a fixed environment and
// a deadline; a tool that hangs is killed.

#include <functional>
#include <string>
#include <vector>

#include "platform/inspector.hpp"
#include "platform/linux/firewall_scan.hpp"

namespace guestpulse::platform {

struct ListingReaders {
  // An iptables-save listing from `tool`, whose rules the operator changes with `command`
  // ("iptables", "iptables-legacy"). Returns the scan's header: parsed or error, notes,
  // and (for iptables-nft) the tables it covered.
  std::function<FirewallScan(const std::string& tool, const std::string& command,
                             const std::string& text)>
      iptables;
  // `nft -j list ruleset`, leaving out `skipTables` (already read through iptables-nft).
  std::function<FirewallScan(const std::string& text, const std::vector<std::string>& skipTables)>
      nft;
};

struct ListingOutcome {
  bool readable = false;              // at least one listing was read and understood
  std::string error;                  // when !readable: every failure, and the privilege hint
  std::vector<std::string> sources;   // the tools whose listing was read
  std::vector<std::string> problems;  // notes of the readers, then failures of other tools
};

// Both iptables backends can hold rules at once and both apply, so both are listed, each
// with `iptablesArgs` (e.g. {"-t", "nat"}); then nft.
ListingOutcome readFirewallListings(const InspectorOptions& options,
                                    const std::vector<std::string>& iptablesArgs,
                                    const ListingReaders& readers);

}  // namespace guestpulse::platform
