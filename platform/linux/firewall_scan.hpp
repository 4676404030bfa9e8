#pragma once
// Which local firewall rules stand between this machine and one IPv4 address (the
// metadata server), found in the text the Linux firewall tools print. I/O-free: the
// inspector (inspector_firewall_linux.cpp) runs the tools and hands their output here.
// firewall_iptables.cpp and firewall_nft.cpp read the two formats into one rule model
// (firewall_walk.hpp), which firewall_walk.cpp follows along the packet path.
//
// Inputs:
//  - scanIptablesRules: `iptables-save` (any backend) or `iptables -S [CHAIN]` text;
//  - scanNftRuleset:    `nft -j list ruleset` JSON (libnftables-json(5)).
// What is reported (a heuristic that follows the packet path, not a full emulation):
//  - blocking: DROP / REJECT rules reached from the OUTPUT chains (iptables: OUTPUT of
//    every table; nft: base chains with hook "output" in ip and inet tables), following
//    jumps and gotos into user chains, whose destination covers the address: equal to it,
//    a prefix or range containing it, a set holding it, or no destination at all. Rules
//    that cannot apply to a new TCP connection to it on one of `ports` are left out:
//    another destination (or a negated one that excludes it), IPv6 only, a protocol other
//    than TCP, destination ports none of which is in `ports`, a conntrack state without
//    NEW, an output interface other than `outInterface` (when given).
//    Conditions we show but cannot decide (the owner uid, named sets, other modules) keep
//    the rule and make the finding `conditional`.
//  - a chain policy of DROP on an output chain (isPolicy), reported unless an earlier
//    unconditional ACCEPT lets the address through;
//  - redirecting: DNAT / REDIRECT rules (nat OUTPUT) for the address: a local proxy
//    intercepting metadata traffic.
//  - The walk stops at the first rule that decides unconditionally (ACCEPT, DROP, REJECT,
//    DNAT); a conditional ACCEPT seen before a finding is named in `exemptedBy`.
// Never throws: unparseable input gives parsed=false and an error.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/host_facts.hpp"

namespace guestpulse::platform {

struct FirewallScanOptions {
  std::string command = "iptables";  // the tool named in fix commands, e.g. "iptables-legacy"
  std::vector<std::uint16_t> ports = {80, 443};  // the ports metadata traffic uses
  std::string outInterface;  // the route's interface; empty = unknown (keep every rule)
  // nft only: tables ("ip filter") to skip because iptables-nft already reported them.
  std::vector<std::string> skipTables;
};

struct FirewallScan {
  bool parsed = false;
  std::string error;                      // why parsing failed
  std::vector<FirewallFinding> blocking;  // DROP / REJECT rules and DROP policies
  std::vector<FirewallFinding> redirecting;
  std::vector<std::string> tables;  // tables seen: "filter", "nat"; nft "inet filter"
  std::vector<std::string> notes;   // e.g. a table iptables-nft cannot show
  std::string backend;  // iptables only: "nf_tables" or "legacy" from the header, else ""
  std::vector<std::string> incompatibleTables;  // iptables-nft only: tables it cannot show
};

FirewallScan scanIptablesRules(std::string_view saveText, std::string_view ipv4,
                               const FirewallScanOptions& options = {});
FirewallScan scanNftRuleset(std::string_view json, std::string_view ipv4,
                            const FirewallScanOptions& options = {});

// The nat interception of a service proxy (firewall_interception.cpp), from the same two
// formats: the REDIRECT rules (and DNAT to this machine) reached from the nat OUTPUT and
// PREROUTING chains (iptables table nat; nft chains of type nat on the output and
// prerouting hooks), following jumps and gotos, each with the socket-owner exclusions
// (RETURN / ACCEPT with --uid-owner, meta skuid) met before it, and whether three kinds
// of connection reach it: the proxy's own connections to a remote address (owned by
// `proxyUid`; unknown owner when empty), this agent's connection to query.probeAddress,
// and connections arriving for each of query.servingPorts. Conditions that cannot be
// decided (another interface, named sets, marks) make a reach Maybe, never Yes.
struct InterceptionScanOptions {
  std::string command = "iptables";  // the tool named in the rules' fix commands
  InterceptionQuery query;
  std::optional<std::uint32_t> proxyUid;
  std::uint32_t ownUid = 0, ownGid = 0;
  std::vector<std::string> skipTables;  // nft only, as in FirewallScanOptions
};

struct InterceptionScan {
  FirewallScan listing;  // parsed, error, tables, notes, backend (no findings)
  std::vector<std::string> natChains;
  std::vector<InterceptionRedirect> outbound;
  std::vector<InterceptionRedirect> inbound;
};

InterceptionScan scanIptablesInterception(std::string_view saveText,
                                          const InterceptionScanOptions& options = {});
InterceptionScan scanNftInterception(std::string_view json,
                                     const InterceptionScanOptions& options = {});

// The nft tables ("ip filter", "ip nat") an iptables-nft listing already covered, to pass
// as skipTables so one rule is not reported twice. Empty unless scan.backend is nf_tables;
// tables iptables-nft called incompatible are left out (only nft shows them).
std::vector<std::string> nftTablesCoveredBy(const FirewallScan& iptablesNftScan);

}  // namespace guestpulse::platform
