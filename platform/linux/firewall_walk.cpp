#include "platform/linux/firewall_walk.hpp"

#include <charconv>
#include <map>

namespace guestpulse::platform::firewall {

std::optional<std::uint32_t> parseIpv4(std::string_view text) {
  std::uint32_t value = 0;
  for (int octet = 0; octet < 4; ++octet) {
    unsigned part = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), part);
    if (ec != std::errc() || end == text.data() || part > 255) return std::nullopt;
    value = (value << 8) | part;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    if (octet < 3) {
      if (text.empty() || text.front() != '.') return std::nullopt;
      text.remove_prefix(1);
    }
  }
  if (!text.empty()) return std::nullopt;
  return value;
}

std::optional<bool> cidrContains(std::string_view cidr, std::uint32_t address) {
  auto slash = cidr.find('/');
  auto base = parseIpv4(cidr.substr(0, slash));
  if (!base) return std::nullopt;
  std::uint32_t mask = 0xffffffffu;
  if (slash != std::string_view::npos) {
    std::string_view len = cidr.substr(slash + 1);
    if (auto dotted = parseIpv4(len)) {
      mask = *dotted;
    } else {
      unsigned bits = 0;
      auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
      if (ec != std::errc() || end != len.data() + len.size() || bits > 32) return std::nullopt;
      mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    }
  }
  return (address & mask) == (*base & mask);
}

std::optional<bool> rangeContains(std::string_view low, std::string_view high, std::uint32_t a) {
  auto lo = parseIpv4(low), hi = parseIpv4(high);
  if (!lo || !hi) return std::nullopt;
  return *lo <= a && a <= *hi;
}

std::optional<unsigned> portNumber(std::string_view text) {
  static const std::map<std::string_view, unsigned> kServices = {
      {"http", 80}, {"www", 80}, {"https", 443}};
  if (auto it = kServices.find(text); it != kServices.end()) return it->second;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return value;
}

namespace {

// Follows the packet path through one table's chains; see the header for the rules.
class Walker {
 public:
  Walker(const Table& table, FirewallScan& out) : table_(table), out_(out) {}

  void walkEntry(const Chain& chain) {
    std::string exemption;
    Outcome outcome = walk(chain, 0, exemption, {});
    if (outcome == Outcome::Continue && chain.dropPolicy) {
      FirewallFinding policy;
      policy.table = table_.name;
      policy.chain = chain.name;
      policy.isPolicy = true;
      policy.exemptedBy = exemption;
      policy.conditional = !exemption.empty();
      policy.ruleText = chain.policyText;
      policy.fixCommand = chain.policyFix;
      out_.blocking.push_back(std::move(policy));
    }
  }

 private:
  // `via` is the first conditional jump on the way here: what this chain decides applies
  // only to the traffic that jump lets in.
  Outcome walk(const Chain& chain, int depth, std::string& exemption, const std::string& via) {
    for (const auto& rule : chain.rules) {
      if (rule.coverage == Coverage::None) continue;
      const bool all = rule.coverage == Coverage::All;
      switch (rule.verdict) {
        case Verdict::Accept:
          if (all) return Outcome::Accepted;
          if (exemption.empty()) exemption = rule.shown.ruleText;
          break;
        case Verdict::Drop:
        case Verdict::Reject:
          report(rule, exemption, via, out_.blocking);
          if (all) return Outcome::Decided;
          break;
        case Verdict::Redirect:
          report(rule, exemption, via, out_.redirecting);
          if (all) return Outcome::Decided;
          break;
        case Verdict::Return:
          if (all) return Outcome::Continue;
          break;
        case Verdict::Jump:
        case Verdict::Goto: {
          const Chain* target = table_.find(rule.target);
          if (!target || depth >= 16) break;  // the kernel refuses loops; depth is a guard
          Outcome inner =
              walk(*target, depth + 1, exemption, via.empty() && !all ? rule.shown.ruleText : via);
          if (all && inner != Outcome::Continue) return inner;
          if (all && rule.verdict == Verdict::Goto) return Outcome::Continue;
          break;
        }
        case Verdict::None:
          break;
      }
    }
    return Outcome::Continue;
  }

  void report(const Rule& rule, const std::string& exemption, const std::string& via,
              std::vector<FirewallFinding>& to) {
    FirewallFinding finding = rule.shown;
    finding.table = table_.name;
    finding.chain = rule.chain;
    finding.exemptedBy = exemption;
    if (!via.empty()) finding.otherConditions.push_back("reached through: " + via);
    finding.conditional = rule.coverage != Coverage::All || !exemption.empty() || !via.empty();
    to.push_back(std::move(finding));
  }

  const Table& table_;
  FirewallScan& out_;
};

}  // namespace

void walkTables(const std::vector<Table>& tables, const std::string& tool, FirewallScan& out) {
  for (const auto& table : tables) {
    std::size_t blockingBefore = out.blocking.size(), redirectingBefore = out.redirecting.size();
    Walker walker(table, out);
    for (const auto& chain : table.chains) {
      if (chain.entry) walker.walkEntry(chain);
    }
    for (auto i = blockingBefore; i < out.blocking.size(); ++i) out.blocking[i].tool = tool;
    for (auto i = redirectingBefore; i < out.redirecting.size(); ++i) {
      out.redirecting[i].tool = tool;
    }
  }
}

}  // namespace guestpulse::platform::firewall
