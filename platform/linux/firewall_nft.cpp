// `nft -j list ruleset` JSON (libnftables-json(5)) into the rule model of
// firewall_walk.hpp.

#include <boost/json.hpp>
#include <charconv>

#include "platform/linux/firewall_walk.hpp"

namespace guestpulse::platform {

using namespace firewall;
namespace json = boost::json;

namespace {

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

// The items of a right-hand side in the model's text forms (firewall_walk.hpp): "a/len"
// for a prefix, "lo-hi" for a range, "@name" for a named set.
void collectItems(const json::value& right, std::vector<std::string>& out) {
  if (const json::array* list = right.if_array()) {
    for (const auto& item : *list) collectItems(item, out);
  } else if (auto* set = member(right, "set")) {
    collectItems(*set, out);
  } else if (auto* p = member(right, "prefix")) {
    out.push_back(stringOf(member(*p, "addr")) + "/" + stringOf(member(*p, "len")));
  } else if (auto* r = member(right, "range"); r && r->is_array() && r->get_array().size() == 2) {
    out.push_back(stringOf(&r->get_array()[0]) + "-" + stringOf(&r->get_array()[1]));
  } else {
    out.push_back(stringOf(&right));
  }
}

std::vector<std::string> itemsOf(const json::value& right, bool upper = false) {
  std::vector<std::string> out;
  collectItems(right, out);
  if (upper)
    for (auto& item : out)
      for (char& c : item) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool isTcp(const json::value& right) {
  auto number = numberOf(right);
  return holdsString(right, "tcp") || (number && *number == 6);
}

// One match statement: how much of our traffic it lets through, and what to show.
Coverage nftMatch(const json::value& body, std::uint32_t address,
                  const FirewallScanOptions& options, FirewallFinding& shown,
                  std::vector<Condition>& conditions) {
  const json::value* left = member(body, "left");
  const json::value* right = member(body, "right");
  const std::string op = stringOf(member(body, "op"));
  if (!left || !right) {
    conditions.push_back({Match::Other, false, {json::serialize(body)}});
    return Coverage::Some;
  }
  const bool notEqual = op == "!=";
  auto condition = [&](Match match, std::vector<std::string> values) {
    conditions.push_back({match, notEqual, std::move(values)});
  };
  if (op != "==" && op != "!=" && op != "in") {
    shown.otherConditions.push_back(renderMatch(body));
    condition(Match::Other, {renderMatch(body)});
    return Coverage::Some;
  }
  auto flip = [&](Coverage c) { return notEqual ? negate(c) : c; };
  const std::string rendered = renderMatch(body);
  const std::string rightText = (notEqual ? "!= " : "") + renderExpr(*right);
  if (auto* p = member(*left, "payload")) {
    std::string protocol = stringOf(member(*p, "protocol")), field = stringOf(member(*p, "field"));
    if (protocol == "ip" && field == "saddr") {
      condition(Match::Source, itemsOf(*right));
      shown.otherConditions.push_back(rendered);
      return Coverage::Some;
    }
    if (protocol == "ip" && field == "daddr") {
      condition(Match::Destination, itemsOf(*right));
      shown.destination = rightText;
      Coverage c = nftAddresses(*right, address);
      if (c == Coverage::Some) shown.otherConditions.push_back(rendered);  // "@set": say so
      return flip(c);
    }
    if (protocol == "ip" && field == "protocol") {
      shown.protocol = rightText;
      condition(Match::Protocol, itemsOf(*right));
      return flip(isTcp(*right) ? Coverage::All : Coverage::None);
    }
    if (protocol == "ip6") {  // an IPv6-only rule
      conditions.push_back({Match::Protocol, false, {"ipv6"}});
      return Coverage::None;
    }
    if ((protocol == "tcp" || protocol == "th") && field == "dport") {
      if (protocol == "tcp") shown.protocol = "tcp";
      shown.ports = rightText;
      if (protocol == "tcp") conditions.push_back({Match::Protocol, false, {"tcp"}});
      condition(Match::DestPort, itemsOf(*right));
      PortTally tally{options.ports};
      tallyPorts(*right, tally);
      return tally.result(notEqual);
    }
    if (protocol != "ip" && protocol != "tcp" && protocol != "th" && !protocol.empty()) {
      conditions.push_back({Match::Protocol, false, {protocol}});
      return Coverage::None;  // udp, icmp, sctp...: not a TCP connection
    }
    if (protocol == "tcp") conditions.push_back({Match::Protocol, false, {"tcp"}});
  } else if (auto* m = member(*left, "meta")) {
    std::string key = stringOf(member(*m, "key"));
    if (key == "l4proto") {
      shown.protocol = rightText;
      condition(Match::Protocol, itemsOf(*right));
      return flip(isTcp(*right) ? Coverage::All : Coverage::None);
    }
    if (key == "nfproto") {
      Coverage c = flip(holdsString(*right, "ipv4") ? Coverage::All : Coverage::None);
      if (c == Coverage::None) conditions.push_back({Match::Protocol, false, {"ipv6"}});
      return c;
    }
    if (key == "skuid" || key == "skgid") {
      shown.owner = rendered;
      condition(key == "skuid" ? Match::UidOwner : Match::GidOwner, itemsOf(*right));
      return Coverage::Some;
    }
    if (key == "iifname") {
      condition(Match::InInterface, itemsOf(*right));
      shown.otherConditions.push_back(rendered);
      return Coverage::Some;
    }
    if (key == "oifname") {
      condition(Match::OutInterface, itemsOf(*right));
      shown.outInterface = rightText;
      if (options.outInterface.empty()) return Coverage::Some;
      return flip(holdsString(*right, options.outInterface) ? Coverage::All : Coverage::None);
    }
  } else if (auto* c = member(*left, "ct"); c && stringOf(member(*c, "key")) == "state") {
    condition(Match::State, itemsOf(*right, true));
    return flip(holdsString(*right, "new") ? Coverage::All : Coverage::None);
  }
  shown.otherConditions.push_back(rendered);
  condition(Match::Other, {rendered});
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
      rule.coverage =
          both(rule.coverage, nftMatch(body, address, options, rule.shown, rule.conditions));
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
      rule.target = key == "redirect" ? "REDIRECT" : "DNAT";
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
        rule.conditions.push_back({Match::Other, false, {"xt match " + name}});
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

}  // namespace

ParsedTables firewall::parseNftTables(std::string_view text, std::string_view ipv4,
                                      std::uint32_t address, const FirewallScanOptions& options) {
  ParsedTables parsed;
  FirewallScan& scan = parsed.scan;
  std::vector<Table>& tables = parsed.tables;
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  const json::value* items = ec ? nullptr : member(root, "nftables");
  if (!items || !items->is_array()) {
    scan.error = ec ? "nft -j output is not JSON: " + ec.message()
                    : std::string("nft -j output has no \"nftables\" array");
    return parsed;
  }
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
      chain.hook = stringOf(member(*c, "hook"));
      chain.type = stringOf(member(*c, "type"));
      chain.entry = chain.hook == "output";
      chain.dropPolicy = chain.entry && stringOf(member(*c, "policy")) == "drop";
      chain.policyText = "chain " + chain.name + " { type " + chain.type +
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
  return parsed;
}

namespace {

FirewallScan scanNftImpl(std::string_view text, std::string_view ipv4, std::uint32_t address,
                         const FirewallScanOptions& options) {
  ParsedTables parsed = parseNftTables(text, ipv4, address, options);
  if (!parsed.scan.error.empty()) return parsed.scan;
  walkTables(parsed.tables, "nft", parsed.scan);
  parsed.scan.parsed = true;
  return parsed.scan;
}

}  // namespace

FirewallScan scanNftRuleset(std::string_view json, std::string_view ipv4,
                            const FirewallScanOptions& options) {
  return scanFor(ipv4, "the nft ruleset", [&](std::string_view text, std::uint32_t address) {
    return scanNftImpl(json, text, address, options);
  });
}

}  // namespace guestpulse::platform
