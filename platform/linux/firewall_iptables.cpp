// iptables-save / iptables -S text into the rule model of firewall_walk.hpp.

#include <algorithm>
#include <cctype>
#include <charconv>

#include "platform/common/text_fields.hpp"
#include "platform/linux/firewall_walk.hpp"

namespace guestpulse::platform {

using namespace firewall;

namespace {

// Splits like the shell would for the quoting iptables-save emits ("block md", \").
std::vector<std::string> tokenize(std::string_view line) {
  std::vector<std::string> tokens;
  std::string current;
  bool inQuote = false, have = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (inQuote) {
      if (c == '\\' && i + 1 < line.size()) {
        current += line[++i];
      } else if (c == '"') {
        inQuote = false;
      } else {
        current += c;
      }
    } else if (c == '"') {
      inQuote = have = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (have) tokens.push_back(std::move(current));
      current.clear();
      have = false;
    } else {
      current += c;
      have = true;
    }
  }
  if (have) tokens.push_back(std::move(current));
  return tokens;
}

Coverage iptablesDestination(const std::string& list, std::uint32_t address) {
  Coverage c = Coverage::None;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = std::min(list.find(',', pos), list.size());
    auto contains = cidrContains(std::string_view(list).substr(pos, end - pos), address);
    if (!contains) c = std::max(c, Coverage::Some);
    if (contains && *contains) return Coverage::All;
    pos = end + 1;
  }
  return c;
}

Coverage iptablesPorts(const std::string& list, const std::vector<std::uint16_t>& ports) {
  PortTally tally{ports};
  std::string_view rest = list;
  while (!rest.empty()) {
    std::string_view item = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    auto colon = item.find(':');
    if (colon == std::string_view::npos) {
      tally.range(portNumber(item), portNumber(item));
    } else {  // "1000:2000", ":1024", "1024:"
      auto lo = colon == 0 ? std::optional<unsigned>(0) : portNumber(item.substr(0, colon));
      auto hi = colon + 1 == item.size() ? std::optional<unsigned>(65535)
                                         : portNumber(item.substr(colon + 1));
      tally.range(lo, hi);
    }
  }
  return tally.result(false);
}

Coverage iptablesInterface(const std::string& pattern, const std::string& actual) {
  if (actual.empty()) return Coverage::Some;
  if (!pattern.empty() && pattern.back() == '+') {  // "eth+" is a prefix match
    return actual.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0 ? Coverage::All
                                                                       : Coverage::None;
  }
  return pattern == actual ? Coverage::All : Coverage::None;
}

// "80,443" or "1000:2000" as the model's port items ("80", "443", "1000-2000").
std::vector<std::string> portItems(const std::string& list) {
  std::vector<std::string> items;
  std::string_view rest = list;
  while (!rest.empty()) {
    std::string_view item = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    auto colon = item.find(':');
    if (colon == std::string_view::npos) {
      items.emplace_back(item);
    } else {
      std::string lo(colon == 0 ? "0" : item.substr(0, colon));
      std::string hi(colon + 1 == item.size() ? "65535" : item.substr(colon + 1));
      items.push_back(lo + "-" + hi);
    }
  }
  return items;
}

std::vector<std::string> splitList(const std::string& list) {
  std::vector<std::string> items;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = std::min(list.find(',', pos), list.size());
    if (end > pos) items.push_back(list.substr(pos, end - pos));
    pos = end + 1;
  }
  return items;
}

bool knownModule(const std::string& name) {
  static const char* kKnown[] = {"tcp",   "udp",       "owner",   "multiport",
                                 "state", "conntrack", "comment", "iprange"};
  return std::any_of(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return name == k; });
}

Rule parseIptablesRule(const std::vector<std::string>& tokens, std::size_t first,
                       std::uint32_t address, const FirewallScanOptions& options) {
  Rule rule;
  FirewallFinding& shown = rule.shown;
  bool negated = false, afterTarget = false, lastOtherIsModule = false;
  auto cover = [&](Coverage c) { rule.coverage = both(rule.coverage, negated ? negate(c) : c); };
  auto bang = [&] { return negated ? std::string("! ") : std::string(); };
  auto condition = [&](Match match, std::vector<std::string> values) {
    rule.conditions.push_back({match, negated, std::move(values)});
  };
  for (std::size_t i = first; i < tokens.size(); ++i) {
    const std::string& tok = tokens[i];
    if (tok == "!") {
      negated = true;
      continue;
    }
    auto value = [&]() -> std::string { return i + 1 < tokens.size() ? tokens[++i] : ""; };
    bool otherOption = false;
    if (tok == "-A" || tok == "--append") {
      rule.chain = value();
    } else if (tok == "-d" || tok == "--destination" || tok == "--dst") {
      std::string v = value();
      shown.destination = bang() + v;
      cover(iptablesDestination(v, address));
      condition(Match::Destination, splitList(v));
    } else if (tok == "--dst-range") {
      std::string v = value();
      auto dash = v.find('-');
      auto in = dash == std::string::npos
                    ? std::nullopt
                    : rangeContains(std::string_view(v).substr(0, dash),
                                    std::string_view(v).substr(dash + 1), address);
      shown.destination = bang() + v;
      cover(!in ? Coverage::Some : *in ? Coverage::All : Coverage::None);
      condition(Match::Destination, {v});
    } else if (tok == "-p" || tok == "--protocol") {
      std::string v = value();
      shown.protocol = bang() + v;
      cover(v == "tcp" || v == "6" || v == "all" || v == "0" ? Coverage::All : Coverage::None);
      condition(Match::Protocol, {v});
    } else if (tok == "-o" || tok == "--out-interface") {
      std::string v = value();
      shown.outInterface = bang() + v;
      cover(iptablesInterface(v, options.outInterface));
      condition(Match::OutInterface, {v});
    } else if (tok == "--dport" || tok == "--destination-port" || tok == "--dports" ||
               tok == "--destination-ports" || tok == "--ports") {
      std::string v = value();
      shown.ports = bang() + v;
      cover(iptablesPorts(v, options.ports));
      condition(Match::DestPort, portItems(v));
    } else if (tok == "--uid-owner" || tok == "--gid-owner") {
      std::string v = value();
      shown.owner = bang() + tok + " " + v;
      rule.coverage = both(rule.coverage, Coverage::Some);
      condition(tok == "--uid-owner" ? Match::UidOwner : Match::GidOwner, {v});
    } else if (tok == "--state" || tok == "--ctstate") {
      std::string v = value();
      cover(v.find("NEW") != std::string::npos ? Coverage::All : Coverage::None);
      condition(Match::State, splitList(v));
    } else if (tok == "--comment") {
      shown.comment = value();
    } else if (tok == "-m" || tok == "--match") {
      std::string module = value();
      if (!knownModule(module)) {
        condition(Match::Other, {module});
        shown.otherConditions.push_back(bang() + "-m " + module);
        rule.coverage = both(rule.coverage, Coverage::Some);
        lastOtherIsModule = true;
        negated = false;
        continue;
      }
    } else if (tok == "-j" || tok == "--jump" || tok == "-g" || tok == "--goto") {
      afterTarget = true;
      rule.target = value();
      const std::string& t = rule.target;
      if (t == "ACCEPT")
        rule.verdict = Verdict::Accept;
      else if (t == "DROP")
        rule.verdict = Verdict::Drop;
      else if (t == "REJECT")
        rule.verdict = Verdict::Reject;
      else if (t == "RETURN")
        rule.verdict = Verdict::Return;
      else if (t == "DNAT" || t == "REDIRECT")
        rule.verdict = Verdict::Redirect;
      // Anything else is a user chain or an extension (LOG, MARK, ...): scanIptablesRules
      // tells them apart once every chain of the table is known.
      else
        rule.verdict = tok == "-g" || tok == "--goto" ? Verdict::Goto : Verdict::Jump;
    } else if (tok == "--reject-with") {
      shown.rejectWith = value();
    } else if (tok == "--to-destination" || tok == "--to-ports" || tok == "--to") {
      shown.redirectTo = value();
    } else if (!tok.empty() && tok[0] == '-' && !afterTarget) {
      otherOption = true;
      std::string text = bang() + tok;
      std::vector<std::string> values;
      while (i + 1 < tokens.size() && tokens[i + 1] != "!" && tokens[i + 1][0] != '-') {
        values.push_back(tokens[++i]);
        text += " " + values.back();
      }
      const bool source = tok == "-s" || tok == "--source" || tok == "--src";
      const bool in = tok == "-i" || tok == "--in-interface";
      if (source || in) {
        condition(source ? Match::Source : Match::InInterface,
                  source && values.size() == 1 ? splitList(values[0]) : values);
      } else if (!lastOtherIsModule) {
        condition(Match::Other, {text});
      }
      if (lastOtherIsModule) {
        shown.otherConditions.back() += " " + text;
      } else {
        shown.otherConditions.push_back(text);
      }
      rule.coverage = both(rule.coverage, Coverage::Some);
    }
    if (!otherOption) lastOtherIsModule = false;
    negated = false;
  }
  if (rule.verdict == Verdict::Drop) shown.action = FirewallAction::Drop;
  if (rule.verdict == Verdict::Reject) shown.action = FirewallAction::Reject;
  if (rule.verdict == Verdict::Redirect) shown.action = FirewallAction::Redirect;
  return rule;
}

// "# Table `nat' contains incompatible base-chains, use 'nft' tool to list them."
std::string incompatibleTableName(std::string_view line) {
  auto open = line.find('`'), close = line.find('\'');
  if (line.find("incompatible") == std::string_view::npos || open == std::string_view::npos ||
      close == std::string_view::npos || close < open) {
    return {};
  }
  return std::string(line.substr(open + 1, close - open - 1));
}

}  // namespace

ParsedTables firewall::parseIptablesTables(std::string_view text, std::string_view ipv4,
                                           std::uint32_t address,
                                           const FirewallScanOptions& options) {
  ParsedTables parsed;
  FirewallScan& scan = parsed.scan;
  std::vector<Table>& tables = parsed.tables;
  auto table = [&](const std::string& name) -> Table& {
    for (auto& t : tables) {
      if (t.name == name) return t;
    }
    tables.push_back(Table{name, {}});
    return tables.back();
  };
  auto tableFlag = [&](const std::string& name) {
    return name == "filter" ? std::string() : " -t " + name;
  };
  auto setPolicy = [&](const std::string& tableName, const std::string& chainName,
                       const std::string& policy) {
    Chain& chain = table(tableName).chain(chainName);
    chain.dropPolicy = policy == "DROP";
    chain.policyText = "-P " + chainName + " " + policy;
    chain.policyFix = options.command + tableFlag(tableName) + " -I " + chainName + " -d " +
                      std::string(ipv4) + "/32 -j ACCEPT";
  };

  std::string current = "filter";  // `iptables -S` prints no "*table" line
  int recognised = 0;
  std::string unrecognised;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string line(trimSpace(text.substr(pos, end - pos)));
    pos = end + 1;
    if (line.empty()) continue;
    if (line[0] == '#') {
      ++recognised;
      if (line.rfind("# Generated by", 0) == 0) {
        if (line.find("(nf_tables)") != std::string::npos) scan.backend = "nf_tables";
        if (line.find("(legacy)") != std::string::npos) scan.backend = "legacy";
      }
      if (auto name = incompatibleTableName(line); !name.empty()) {
        scan.incompatibleTables.push_back(name);
        scan.notes.push_back("iptables-nft cannot show table " + name +
                             " (it has chains made with nft): only nft lists its rules");
      }
      continue;
    }
    if (line[0] == '*') {
      current = line.substr(1);
      table(current);
      ++recognised;
      continue;
    }
    if (line == "COMMIT") continue;
    auto tokens = tokenize(line);
    if (line[0] == ':' && tokens.size() >= 2) {  // ":OUTPUT ACCEPT [0:0]"
      setPolicy(current, tokens[0].substr(1), tokens[1]);
      ++recognised;
      continue;
    }
    std::size_t first = !tokens.empty() && tokens[0][0] == '[' ? 1 : 0;  // "[3:180] -A ..."
    if (tokens.size() >= first + 3 && tokens[first] == "-P") {
      setPolicy(current, tokens[first + 1], tokens[first + 2]);
    } else if (tokens.size() >= first + 2 && tokens[first] == "-N") {
      table(current).chain(tokens[first + 1]);
    } else if (tokens.size() >= first + 2 && tokens[first] == "-A") {
      Rule rule = parseIptablesRule(tokens, first, address, options);
      std::string shownLine = line.substr(std::min(line.find("-A "), line.size()));
      rule.shown.ruleText = shownLine;
      rule.shown.fixCommand = options.command + tableFlag(current) + " -D " +
                              shownLine.substr(std::min<std::size_t>(3, shownLine.size()));
      table(current).chain(rule.chain).rules.push_back(std::move(rule));
    } else {
      if (unrecognised.empty()) unrecognised = line;
      continue;
    }
    ++recognised;
  }
  if (recognised == 0 && !unrecognised.empty()) {
    scan.error = "not iptables-save output: '" + unrecognised.substr(0, 200) + "'";
    return parsed;
  }
  static const char* kBuiltIn[] = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};
  for (auto& t : tables) {
    scan.tables.push_back(t.name);
    for (auto& chain : t.chains) {
      chain.entry = chain.name == "OUTPUT";
      if (std::any_of(std::begin(kBuiltIn), std::end(kBuiltIn),
                      [&](const char* b) { return chain.name == b; })) {
        chain.hook = chain.name;
        for (char& c : chain.hook)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        chain.type = t.name;
      }
      for (auto& rule : chain.rules) {
        // A jump to something that is not a chain of this table is an extension target
        // (LOG, MARK, CONNMARK...), which never decides the packet's fate.
        bool jump = rule.verdict == Verdict::Jump || rule.verdict == Verdict::Goto;
        if (jump && !t.find(rule.target)) rule.verdict = Verdict::None;
      }
    }
  }
  return parsed;
}

namespace {

FirewallScan scanIptablesImpl(std::string_view text, std::string_view ipv4, std::uint32_t address,
                              const FirewallScanOptions& options) {
  ParsedTables parsed = parseIptablesTables(text, ipv4, address, options);
  if (!parsed.scan.error.empty()) return parsed.scan;
  walkTables(parsed.tables, options.command, parsed.scan);
  parsed.scan.parsed = true;
  return parsed.scan;
}

}  // namespace

FirewallScan scanIptablesRules(std::string_view saveText, std::string_view ipv4,
                               const FirewallScanOptions& options) {
  return scanFor(ipv4, "iptables rules", [&](std::string_view text, std::uint32_t address) {
    return scanIptablesImpl(saveText, text, address, options);
  });
}

std::vector<std::string> nftTablesCoveredBy(const FirewallScan& scan) {
  std::vector<std::string> covered;
  if (scan.backend != "nf_tables") return covered;
  for (const auto& table : scan.tables) {
    const auto& bad = scan.incompatibleTables;
    if (std::find(bad.begin(), bad.end(), table) == bad.end()) covered.push_back("ip " + table);
  }
  return covered;
}

}  // namespace guestpulse::platform
