#include "agent/net/firewall_rules.hpp"
#include "agent/net/text_fields.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

namespace guestpulse {

namespace json = boost::json;

namespace {

// How much of "a new TCP connection to the address on one of the scanned ports" a
// condition (and so a rule) matches. A rule is the weakest of its conditions.
enum class Coverage { None, Some, All };

Coverage both(Coverage a, Coverage b) { return std::min(a, b); }
Coverage negate(Coverage c) {
  return c == Coverage::All ? Coverage::None : c == Coverage::None ? Coverage::All : c;
}

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

// "a.b.c.d", "a.b.c.d/n" or "a.b.c.d/m.m.m.m" (iptables prints odd masks dotted).
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

// One rule in a tool-neutral form: what the walk needs plus what the finding shows.
struct Rule {
  std::string chain;
  Coverage coverage = Coverage::All;
  Verdict verdict = Verdict::None;
  std::string target;  // Jump / Goto
  FirewallFinding shown;
};

struct Chain {
  std::string name;
  bool entry = false;  // OUTPUT / a base chain on the output hook
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

// ---- iptables-save / iptables -S --------------------------------------------------

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
    } else if (tok == "--dst-range") {
      std::string v = value();
      auto dash = v.find('-');
      auto in = dash == std::string::npos
                    ? std::nullopt
                    : rangeContains(std::string_view(v).substr(0, dash),
                                    std::string_view(v).substr(dash + 1), address);
      shown.destination = bang() + v;
      cover(!in ? Coverage::Some : *in ? Coverage::All : Coverage::None);
    } else if (tok == "-p" || tok == "--protocol") {
      std::string v = value();
      shown.protocol = bang() + v;
      cover(v == "tcp" || v == "6" || v == "all" || v == "0" ? Coverage::All : Coverage::None);
    } else if (tok == "-o" || tok == "--out-interface") {
      std::string v = value();
      shown.outInterface = bang() + v;
      cover(iptablesInterface(v, options.outInterface));
    } else if (tok == "--dport" || tok == "--destination-port" || tok == "--dports" ||
               tok == "--destination-ports" || tok == "--ports") {
      std::string v = value();
      shown.ports = bang() + v;
      cover(iptablesPorts(v, options.ports));
    } else if (tok == "--uid-owner" || tok == "--gid-owner") {
      shown.owner = bang() + tok + " " + value();
      rule.coverage = both(rule.coverage, Coverage::Some);
    } else if (tok == "--state" || tok == "--ctstate") {
      std::string v = value();
      cover(v.find("NEW") != std::string::npos ? Coverage::All : Coverage::None);
    } else if (tok == "--comment") {
      shown.comment = value();
    } else if (tok == "-m" || tok == "--match") {
      std::string module = value();
      if (!knownModule(module)) {
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
      while (i + 1 < tokens.size() && tokens[i + 1] != "!" && tokens[i + 1][0] != '-') {
        text += " " + tokens[++i];
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

FirewallScan scanIptablesImpl(std::string_view text, std::string_view ipv4, std::uint32_t address,
                              const FirewallScanOptions& options) {
  FirewallScan scan;
  std::vector<Table> tables;
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
    return scan;
  }
  for (auto& t : tables) {
    scan.tables.push_back(t.name);
    for (auto& chain : t.chains) {
      chain.entry = chain.name == "OUTPUT";
      for (auto& rule : chain.rules) {
        // A jump to something that is not a chain of this table is an extension target
        // (LOG, MARK, CONNMARK...), which never decides the packet's fate.
        bool jump = rule.verdict == Verdict::Jump || rule.verdict == Verdict::Goto;
        if (jump && !t.find(rule.target)) rule.verdict = Verdict::None;
      }
    }
  }
  walkTables(tables, options.command, scan);
  scan.parsed = true;
  return scan;
}

// ---- nft -j list ruleset -------------------------------------------------------------

const json::value* member(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  return o ? o->if_contains(key) : nullptr;
}

std::string stringOf(const json::value* v) {
  if (!v) return {};
  if (const json::string* s = v->if_string()) return std::string(*s);
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return json::serialize(*v);
}

std::optional<unsigned> numberOf(const json::value& v) {
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<unsigned>(v.get_int64());
  if (v.is_uint64()) return static_cast<unsigned>(v.get_uint64());
  if (const json::string* s = v.if_string()) return portNumber(*s);
  return std::nullopt;
}

// Renders an expression the way `nft list ruleset` prints it, close enough to recognise.
std::string renderExpr(const json::value& v) {
  if (const json::array* list = v.if_array()) {
    std::string out = "{ ";
    for (std::size_t i = 0; i < list->size(); ++i) out += (i ? ", " : "") + renderExpr((*list)[i]);
    return out + " }";
  }
  if (!v.is_object()) return stringOf(&v);
  if (auto* p = member(v, "prefix")) {
    return stringOf(member(*p, "addr")) + "/" + stringOf(member(*p, "len"));
  }
  if (auto* r = member(v, "range"); r && r->is_array() && r->get_array().size() == 2) {
    return renderExpr(r->get_array()[0]) + "-" + renderExpr(r->get_array()[1]);
  }
  if (auto* s = member(v, "set")) return renderExpr(*s);
  if (auto* p = member(v, "payload")) {
    if (member(*p, "protocol"))
      return stringOf(member(*p, "protocol")) + " " + stringOf(member(*p, "field"));
    return "@" + stringOf(member(*p, "base")) + "," + stringOf(member(*p, "offset")) + "," +
           stringOf(member(*p, "len"));
  }
  if (auto* m = member(v, "meta")) {
    std::string key = stringOf(member(*m, "key"));
    bool bare = key == "oifname" || key == "iifname" || key == "oif" || key == "iif";
    return bare ? key : "meta " + key;
  }
  if (auto* c = member(v, "ct")) return "ct " + stringOf(member(*c, "key"));
  return json::serialize(v);
}

std::string renderMatch(const json::value& body) {
  const json::value* left = member(body, "left");
  const json::value* right = member(body, "right");
  if (!left || !right) return json::serialize(body);
  std::string op = stringOf(member(body, "op"));
  std::string shownOp = op == "==" || op == "in" ? " " : " " + op + " ";
  return renderExpr(*left) + shownOp + renderExpr(*right);
}

std::string renderStatement(const json::value& statement) {
  const json::object* o = statement.if_object();
  if (!o || o->empty()) return json::serialize(statement);
  const std::string key(o->begin()->key());
  const json::value& body = o->begin()->value();
  if (key == "match") return renderMatch(body);
  if (key == "jump" || key == "goto") return key + " " + stringOf(member(body, "target"));
  if (key == "reject") {
    std::string type = stringOf(member(body, "type")), code = stringOf(member(body, "expr"));
    if (type.empty()) return "reject";
    return "reject with " + type + (code.empty() ? "" : " " + code);
  }
  if (key == "dnat" || key == "redirect") {
    std::string to = stringOf(member(body, "addr"));
    if (member(body, "port")) to += ":" + stringOf(member(body, "port"));
    return key + (to.empty() ? "" : " to " + to);
  }
  if (key == "xt")
    return "xt " + stringOf(member(body, "type")) + " " + stringOf(member(body, "name"));
  return key;  // accept, drop, counter, log, limit, ...
}

// Whether an address-valued right-hand side holds `address`.
Coverage nftAddresses(const json::value& right, std::uint32_t address) {
  if (const json::array* list = right.if_array()) {
    Coverage c = Coverage::None;
    for (const auto& item : *list) c = std::max(c, nftAddresses(item, address));
    return c;
  }
  if (const json::string* s = right.if_string()) {
    if (!s->empty() && (*s)[0] == '@') return Coverage::Some;  // a named set: not in the rule
    auto in = cidrContains(*s, address);
    return !in ? Coverage::Some : *in ? Coverage::All : Coverage::None;
  }
  if (auto* set = member(right, "set")) return nftAddresses(*set, address);
  if (auto* p = member(right, "prefix")) {
    auto in =
        cidrContains(stringOf(member(*p, "addr")) + "/" + stringOf(member(*p, "len")), address);
    return !in ? Coverage::Some : *in ? Coverage::All : Coverage::None;
  }
  if (auto* r = member(right, "range"); r && r->is_array() && r->get_array().size() == 2) {
    auto in = rangeContains(stringOf(&r->get_array()[0]), stringOf(&r->get_array()[1]), address);
    return !in ? Coverage::Some : *in ? Coverage::All : Coverage::None;
  }
  return Coverage::Some;
}

void tallyPorts(const json::value& right, PortTally& tally) {
  if (const json::array* list = right.if_array()) {
    for (const auto& item : *list) tallyPorts(item, tally);
  } else if (auto* set = member(right, "set")) {
    tallyPorts(*set, tally);
  } else if (auto* r = member(right, "range"); r && r->is_array() && r->get_array().size() == 2) {
    tally.range(numberOf(r->get_array()[0]), numberOf(r->get_array()[1]));
  } else {
    auto n = numberOf(right);
    tally.range(n, n);
  }
}

bool holdsString(const json::value& right, std::string_view wanted) {
  if (const json::array* list = right.if_array()) {
    return std::any_of(list->begin(), list->end(), [&](auto& v) { return holdsString(v, wanted); });
  }
  if (auto* set = member(right, "set")) return holdsString(*set, wanted);
  const json::string* s = right.if_string();
  return s && *s == wanted;
}

bool isTcp(const json::value& right) {
  auto number = numberOf(right);
  return holdsString(right, "tcp") || (number && *number == 6);
}

// One match statement: how much of our traffic it lets through, and what to show.
Coverage nftMatch(const json::value& body, std::uint32_t address,
                  const FirewallScanOptions& options, FirewallFinding& shown) {
  const json::value* left = member(body, "left");
  const json::value* right = member(body, "right");
  const std::string op = stringOf(member(body, "op"));
  if (!left || !right) return Coverage::Some;
  const bool notEqual = op == "!=";
  if (op != "==" && op != "!=" && op != "in") {
    shown.otherConditions.push_back(renderMatch(body));
    return Coverage::Some;
  }
  auto flip = [&](Coverage c) { return notEqual ? negate(c) : c; };
  const std::string rendered = renderMatch(body);
  const std::string rightText = (notEqual ? "!= " : "") + renderExpr(*right);
  if (auto* p = member(*left, "payload")) {
    std::string protocol = stringOf(member(*p, "protocol")), field = stringOf(member(*p, "field"));
    if (protocol == "ip" && field == "daddr") {
      shown.destination = rightText;
      Coverage c = nftAddresses(*right, address);
      if (c == Coverage::Some) shown.otherConditions.push_back(rendered);  // "@set": say so
      return flip(c);
    }
    if (protocol == "ip" && field == "protocol") {
      shown.protocol = rightText;
      return flip(isTcp(*right) ? Coverage::All : Coverage::None);
    }
    if (protocol == "ip6") return Coverage::None;  // an IPv6-only rule
    if ((protocol == "tcp" || protocol == "th") && field == "dport") {
      if (protocol == "tcp") shown.protocol = "tcp";
      shown.ports = rightText;
      PortTally tally{options.ports};
      tallyPorts(*right, tally);
      return tally.result(notEqual);
    }
    if (protocol != "ip" && protocol != "tcp" && protocol != "th" && !protocol.empty()) {
      return Coverage::None;  // udp, icmp, sctp...: not a TCP connection
    }
  } else if (auto* m = member(*left, "meta")) {
    std::string key = stringOf(member(*m, "key"));
    if (key == "l4proto") {
      shown.protocol = rightText;
      return flip(isTcp(*right) ? Coverage::All : Coverage::None);
    }
    if (key == "nfproto") return flip(holdsString(*right, "ipv4") ? Coverage::All : Coverage::None);
    if (key == "skuid" || key == "skgid") {
      shown.owner = rendered;
      return Coverage::Some;
    }
    if (key == "oifname") {
      shown.outInterface = rightText;
      if (options.outInterface.empty()) return Coverage::Some;
      return flip(holdsString(*right, options.outInterface) ? Coverage::All : Coverage::None);
    }
  } else if (auto* c = member(*left, "ct"); c && stringOf(member(*c, "key")) == "state") {
    return flip(holdsString(*right, "new") ? Coverage::All : Coverage::None);
  }
  shown.otherConditions.push_back(rendered);
  return Coverage::Some;
}

Rule parseNftRule(const json::value& ruleJson, std::uint32_t address,
                  const FirewallScanOptions& options) {
  Rule rule;
  rule.chain = stringOf(member(ruleJson, "chain"));
  std::string text;
  const json::value* expr = member(ruleJson, "expr");
  const json::array* statements = expr ? expr->if_array() : nullptr;
  for (std::size_t i = 0; statements && i < statements->size(); ++i) {
    const json::value& statement = (*statements)[i];
    text += (text.empty() ? "" : " ") + renderStatement(statement);
    const json::object* o = statement.if_object();
    if (!o || o->empty() || rule.verdict != Verdict::None) continue;
    const std::string key(o->begin()->key());
    const json::value& body = o->begin()->value();
    if (key == "match") {
      rule.coverage = both(rule.coverage, nftMatch(body, address, options, rule.shown));
    } else if (key == "accept") {
      rule.verdict = Verdict::Accept;
    } else if (key == "drop") {
      rule.verdict = Verdict::Drop;
    } else if (key == "reject") {
      rule.verdict = Verdict::Reject;
      std::string shown = renderStatement(statement);  // "reject with icmp host-unreachable"
      if (shown.rfind("reject with ", 0) == 0) rule.shown.rejectWith = shown.substr(12);
    } else if (key == "return") {
      rule.verdict = Verdict::Return;
    } else if (key == "jump" || key == "goto") {
      rule.verdict = key == "jump" ? Verdict::Jump : Verdict::Goto;
      rule.target = stringOf(member(body, "target"));
    } else if (key == "dnat" || key == "redirect") {
      rule.verdict = Verdict::Redirect;
      std::string shown = renderStatement(statement);  // "dnat to 127.0.0.1:8080"
      auto to = shown.find(" to ");
      if (to != std::string::npos) rule.shown.redirectTo = shown.substr(to + 4);
    } else if (key == "xt") {
      // iptables-nft compat: the details are only readable through iptables-nft-save.
      std::string type = stringOf(member(body, "type")), name = stringOf(member(body, "name"));
      if (type == "target" && name == "REJECT")
        rule.verdict = Verdict::Reject;
      else if (type == "target" && name == "DROP")
        rule.verdict = Verdict::Drop;
      else if (type == "match") {
        rule.shown.otherConditions.push_back("xt match " + name);
        rule.coverage = both(rule.coverage, Coverage::Some);
      }
    }
  }
  if (auto* comment = member(ruleJson, "comment")) {
    rule.shown.comment = stringOf(comment);
    text += " comment \"" + rule.shown.comment + "\"";
  }
  if (rule.verdict == Verdict::Reject) rule.shown.action = FirewallAction::Reject;
  if (rule.verdict == Verdict::Redirect) rule.shown.action = FirewallAction::Redirect;
  rule.shown.ruleText = text;
  rule.shown.fixCommand = "nft delete rule " + stringOf(member(ruleJson, "family")) + " " +
                          stringOf(member(ruleJson, "table")) + " " + rule.chain + " handle " +
                          stringOf(member(ruleJson, "handle"));
  return rule;
}

FirewallScan scanNftImpl(std::string_view text, std::string_view ipv4, std::uint32_t address,
                         const FirewallScanOptions& options) {
  FirewallScan scan;
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  const json::value* items = ec ? nullptr : member(root, "nftables");
  if (!items || !items->is_array()) {
    scan.error = ec ? "nft -j output is not JSON: " + ec.message()
                    : std::string("nft -j output has no \"nftables\" array");
    return scan;
  }
  std::vector<Table> tables;
  auto tableKey = [](const json::value& v, const char* nameField) {
    return stringOf(member(v, "family")) + " " + stringOf(member(v, nameField));
  };
  auto findTable = [&](const std::string& name) -> Table* {
    for (auto& t : tables) {
      if (t.name == name) return &t;
    }
    return nullptr;
  };
  const auto& skip = options.skipTables;
  for (const auto& item : items->get_array()) {
    if (auto* t = member(item, "table")) {
      std::string name = tableKey(*t, "name"), family = stringOf(member(*t, "family"));
      scan.tables.push_back(name);
      // IPv4 traffic passes ip and inet tables only (bridge/netdev hooks are not on the
      // local output path).
      bool ipv4Family = family == "ip" || family == "inet";
      if (ipv4Family && std::find(skip.begin(), skip.end(), name) == skip.end()) {
        tables.push_back(Table{name, {}});
      }
    } else if (auto* c = member(item, "chain")) {
      Table* table = findTable(tableKey(*c, "table"));
      if (!table) continue;
      Chain& chain = table->chain(stringOf(member(*c, "name")));
      chain.entry = stringOf(member(*c, "hook")) == "output";
      chain.dropPolicy = chain.entry && stringOf(member(*c, "policy")) == "drop";
      chain.policyText = "chain " + chain.name + " { type " + stringOf(member(*c, "type")) +
                         " hook output priority " + stringOf(member(*c, "prio")) +
                         "; policy drop; }";
      chain.policyFix = "nft insert rule " + table->name + " " + chain.name + " ip daddr " +
                        std::string(ipv4) + " accept";
    } else if (auto* r = member(item, "rule")) {
      Table* table = findTable(tableKey(*r, "table"));
      if (!table) continue;
      Rule rule = parseNftRule(*r, address, options);
      table->chain(rule.chain).rules.push_back(std::move(rule));
    }
  }
  walkTables(tables, "nft", scan);
  scan.parsed = true;
  return scan;
}

}  // namespace

const char* toString(FirewallAction action) {
  switch (action) {
    case FirewallAction::Drop:
      return "DROP";
    case FirewallAction::Reject:
      return "REJECT";
    case FirewallAction::Redirect:
      return "REDIRECT";
  }
  return "?";
}

std::string FirewallFinding::describe() const {
  std::string text = tool + " " + table + " " + chain + ": " + ruleText;
  if (!exemptedBy.empty()) text += " (after a conditional ACCEPT: " + exemptedBy + ")";
  return text;
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

namespace {

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

}  // namespace

FirewallScan scanIptablesRules(std::string_view saveText, std::string_view ipv4,
                               const FirewallScanOptions& options) {
  return scanFor(ipv4, "iptables rules", [&](std::string_view text, std::uint32_t address) {
    return scanIptablesImpl(saveText, text, address, options);
  });
}

FirewallScan scanNftRuleset(std::string_view json, std::string_view ipv4,
                            const FirewallScanOptions& options) {
  return scanFor(ipv4, "the nft ruleset", [&](std::string_view text, std::uint32_t address) {
    return scanNftImpl(json, text, address, options);
  });
}

}  // namespace guestpulse
