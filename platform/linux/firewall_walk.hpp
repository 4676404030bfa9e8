#pragma once
// Internal to the Linux firewall scanners (firewall_iptables.cpp, firewall_nft.cpp): the
// tool-neutral rule model both formats are read into, the address and port arithmetic
// they share, and the walk along the packet path (firewall_walk.cpp) that turns a model
// into findings. See firewall_scan.hpp for what is reported.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/linux/firewall_scan.hpp"

namespace guestpulse::platform::firewall {

// How much of "a new TCP connection to the address on one of the scanned ports" a
// condition (and so a rule) matches. A rule is the weakest of its conditions.
enum class Coverage { None, Some, All };

inline Coverage both(Coverage a, Coverage b) { return std::min(a, b); }
inline Coverage negate(Coverage c) {
  return c == Coverage::All ? Coverage::None : c == Coverage::None ? Coverage::All : c;
}

// "a.b.c.d" as a number, or nullopt.
std::optional<std::uint32_t> parseIpv4(std::string_view text);
// "a.b.c.d", "a.b.c.d/n" or "a.b.c.d/m.m.m.m" (iptables prints odd masks dotted) holds
// `address`; nullopt when the text is not such a prefix.
std::optional<bool> cidrContains(std::string_view cidr, std::uint32_t address);
std::optional<bool> rangeContains(std::string_view low, std::string_view high, std::uint32_t a);
// A port number or one of the service names metadata traffic uses (http, www, https).
std::optional<unsigned> portNumber(std::string_view text);

// Folds "which of our ports does this item match" over the items of a port condition.
struct PortTally {
  std::vector<std::uint16_t> wanted;
  std::vector<bool> hit = std::vector<bool>(wanted.size(), false);
  bool unknown = false;

  void range(std::optional<unsigned> lo, std::optional<unsigned> hi) {
    if (!lo || !hi) {
      unknown = true;
      return;
    }
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (*lo <= wanted[i] && wanted[i] <= *hi) hit[i] = true;
    }
  }
  Coverage result(bool negated) const {
    if (unknown || wanted.empty()) return Coverage::Some;
    auto n = std::count(hit.begin(), hit.end(), true);
    Coverage c = n == 0                                  ? Coverage::None
                 : n == static_cast<long>(wanted.size()) ? Coverage::All
                                                         : Coverage::Some;
    return negated ? negate(c) : c;
  }
};

enum class Verdict { None, Accept, Drop, Reject, Return, Jump, Goto, Redirect };

// One condition of a rule in a tool-neutral form, for walks that ask about other traffic
// than the one `Rule::coverage` was computed for (firewall_interception.cpp). Values:
// addresses "10.0.0.0/8", "1.1.1.1-1.1.1.9", "@set"; ports "80", "8000-8080"; interfaces
// "lo", "eth+"; protocols "tcp"; owners "1337"; states "NEW" (upper case).
enum class Match {
  Destination,
  Source,
  OutInterface,
  InInterface,
  Protocol,
  DestPort,
  UidOwner,
  GidOwner,
  State,
  Other
};

struct Condition {
  Match match = Match::Other;
  bool negated = false;
  std::vector<std::string> values;
};

// One rule in a tool-neutral form: what the walk needs plus what the finding shows.
struct Rule {
  std::string chain;
  Coverage coverage = Coverage::All;
  Verdict verdict = Verdict::None;
  std::string target;  // Jump / Goto
  FirewallFinding shown;
  std::vector<Condition> conditions;
};

struct Chain {
  std::string name;
  bool entry = false;  // OUTPUT / a base chain on the output hook
  // The netfilter hook a built-in or base chain is attached to ("output", "prerouting"),
  // and the kind of chain ("nat", "filter"; iptables: the table's name); empty for user
  // chains.
  std::string hook, type;
  bool dropPolicy = false;
  std::string policyText, policyFix;
  std::vector<Rule> rules;
};

struct Table {
  std::string name;  // "filter"; nft "inet filter"
  std::vector<Chain> chains;
  Chain& chain(const std::string& name) {
    for (auto& c : chains) {
      if (c.name == name) return c;
    }
    Chain created;
    created.name = name;
    chains.push_back(std::move(created));
    return chains.back();
  }
  const Chain* find(const std::string& name) const {
    for (const auto& c : chains) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
};

enum class Outcome { Continue, Accepted, Decided };

// Follows the packet path from every entry chain of every table, adding what blocks or
// redirects the traffic to `out`, each finding credited to `tool`.
void walkTables(const std::vector<Table>& tables, const std::string& tool, FirewallScan& out);

// The tables of one listing, read into the model: scanIptablesRules and scanNftRuleset
// walk them for the metadata server; the interception walk reads them again.
struct ParsedTables {
  std::vector<Table> tables;
  FirewallScan scan;  // parsed, error, tables, notes, backend, incompatibleTables
};
// `ipv4` and `address` are what Rule::coverage and the policy fixes are computed for.
ParsedTables parseIptablesTables(std::string_view text, std::string_view ipv4,
                                 std::uint32_t address, const FirewallScanOptions& options);
ParsedTables parseNftTables(std::string_view json, std::string_view ipv4, std::uint32_t address,
                            const FirewallScanOptions& options);

// Runs one scanner for `ipv4`, given as text and as a number. A bad address, or an exception (only
// allocation failure is expected), becomes the scan's error.
template <class Scanner>
FirewallScan scanFor(std::string_view ipv4, const char* what, const Scanner& scanner) {
  FirewallScan scan;
  auto address = parseIpv4(ipv4);
  if (!address) {
    scan.error = "'" + std::string(ipv4) + "' is not an IPv4 address";
    return scan;
  }
  try {
    return scanner(ipv4, *address);
  } catch (const std::exception& e) {
    scan.error = std::string("reading ") + what + " failed: " + e.what();
    return scan;
  }
}

}  // namespace guestpulse::platform::firewall
