#pragma once
// Which local firewall rules stand between this machine and one IPv4 address (the
// metadata server), found in the text the firewall tools print. I/O-free: the platform
// inspector runs the tools and hands their output here.
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
#include <string>
#include <string_view>
#include <vector>

namespace guestpulse {

enum class FirewallAction { Drop, Reject, Redirect };

const char* toString(FirewallAction action);  // "DROP", "REJECT", "REDIRECT"

struct FirewallFinding {
  std::string tool;   // the command that manages it: "iptables", "iptables-legacy", "nft"
  std::string table;  // "filter", "nat"; nft: "inet filter"
  std::string chain;  // "OUTPUT", a user chain reached from it; nft: "output"
  FirewallAction action = FirewallAction::Drop;
  bool isPolicy = false;  // the chain's default policy rather than a rule

  // The matches, in the tool's own syntax, empty when the rule has none.
  std::string destination;   // "169.254.169.254/32", "169.254.0.0/16", "!= 10.0.0.0/8"
  std::string protocol;      // "tcp"
  std::string ports;         // destination ports: "80", "80,443", "{ 80, 443 }", "! 22"
  std::string owner;         // "--uid-owner 0", "! --uid-owner 1000", "meta skuid 0"
  std::string outInterface;  // "eth0", "! lo"
  std::vector<std::string> otherConditions;  // "-m set --match-set blocked dst", "ip daddr @x"
  std::string rejectWith;  // "tcp-reset", "icmp-port-unreachable", "tcp reset", "icmpx ..."
  std::string redirectTo;  // Redirect only: "127.0.0.1:8080", ":8443"
  std::string comment;

  std::string exemptedBy;  // an earlier conditional ACCEPT that may let the traffic pass
  std::string ruleText;    // as the tool prints it ("-A OUTPUT -d ... -j REJECT ...")
  // How to undo it: for a rule, the command deleting exactly that rule
  // ("iptables -D OUTPUT -d 169.254.169.254/32 -j DROP",
  //  "nft delete rule inet filter output handle 4"); for a DROP policy, the command
  // inserting an ACCEPT for the address at the top of the chain.
  std::string fixCommand;

  // The rule catches only part of the traffic to the address on the scanned ports (a port
  // subset) or depends on what we could not decide (owner, named sets, other matches).
  bool conditional = false;

  // One line for messages: "iptables filter OUTPUT: -A OUTPUT -d ... -j DROP".
  std::string describe() const;
};

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

// The nft tables ("ip filter", "ip nat") an iptables-nft listing already covered, to pass
// as skipTables so one rule is not reported twice. Empty unless scan.backend is nf_tables;
// tables iptables-nft called incompatible are left out (only nft shows them).
std::vector<std::string> nftTablesCoveredBy(const FirewallScan& iptablesNftScan);

}  // namespace guestpulse
