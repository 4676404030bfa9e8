#include "platform/windows/firewall_rules.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string_view>

namespace guestpulse::platform::win {

namespace {

enum class Match { No, Maybe, Yes };

constexpr long kProtocolTcp = 6;
constexpr long kProtocolAny = 256;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = trim(std::string_view(text).substr(start, comma - start));
    if (!item.empty()) items.push_back(item);
    start = comma + 1;
  }
  return items;
}

bool isAny(const std::string& text) {
  std::string t = trim(text);
  return t.empty() || t == "*" || t == "Any" || t == "any";
}

std::optional<std::uint32_t> parseIpv4(std::string_view text) {
  std::uint32_t value = 0;
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    unsigned part = 0;
    int digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && digits < 4) {
      part = part * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
      ++digits;
    }
    if (part > 255) return std::nullopt;
    value = (value << 8) | part;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return value;
}

// One RemoteAddresses token against the address.
Match matchAddressToken(const std::string& token, std::uint32_t address) {
  if (token == "*") return Match::Yes;
  if (token.find(':') != std::string::npos) return Match::No;  // IPv6
  if (auto dash = token.find('-'); dash != std::string::npos) {
    auto low = parseIpv4(token.substr(0, dash));
    auto high = parseIpv4(token.substr(dash + 1));
    if (!low || !high) return Match::Maybe;
    return address >= *low && address <= *high ? Match::Yes : Match::No;
  }
  if (auto slash = token.find('/'); slash != std::string::npos) {
    auto network = parseIpv4(token.substr(0, slash));
    std::string maskText = token.substr(slash + 1);
    std::optional<std::uint32_t> mask = parseIpv4(maskText);
    if (!mask && !maskText.empty() && maskText.size() <= 2 &&
        std::all_of(maskText.begin(), maskText.end(),
                    [](unsigned char c) { return std::isdigit(c) != 0; })) {
      int bits = std::stoi(maskText);
      if (bits <= 32) mask = bits == 0 ? 0u : ~std::uint32_t{0} << (32 - bits);
    }
    if (!network || !mask) return Match::Maybe;
    return (address & *mask) == (*network & *mask) ? Match::Yes : Match::No;
  }
  if (auto single = parseIpv4(token)) return *single == address ? Match::Yes : Match::No;
  // Keywords (LocalSubnet, DNS, DHCP, DefaultGateway, Internet, Intranet, ...): on GCE the
  // DNS and DHCP server is the metadata server itself; whether a keyword covers it is
  // decided by Windows at run time.
  return Match::Maybe;
}

Match matchAddresses(const std::string& list, std::uint32_t address) {
  if (isAny(list)) return Match::Yes;
  Match best = Match::No;
  for (const auto& token : splitList(list)) {
    Match m = matchAddressToken(token, address);
    if (m == Match::Yes) return Match::Yes;
    if (m == Match::Maybe) best = Match::Maybe;
  }
  return best;
}

struct PortCover {
  bool http = false, https = false, unknown = false;
};

PortCover coverPorts(const std::string& list) {
  PortCover cover;
  if (isAny(list)) return {true, true, false};
  for (const auto& token : splitList(list)) {
    auto dash = token.find('-');
    std::string lowText = dash == std::string::npos ? token : token.substr(0, dash);
    std::string highText = dash == std::string::npos ? token : token.substr(dash + 1);
    auto number = [](const std::string& s) -> std::optional<long> {
      if (s.empty() || s.size() > 5 ||
          !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
        return std::nullopt;
      return std::stol(s);
    };
    auto low = number(lowText), high = number(highText);
    if (!low || !high) {
      cover.unknown = true;  // RPC, IPHTTPS, Teredo, ...
      continue;
    }
    if (*low <= 80 && 80 <= *high) cover.http = true;
    if (*low <= 443 && 443 <= *high) cover.https = true;
  }
  return cover;
}

std::string protocolName(long protocol) {
  switch (protocol) {
    case kProtocolTcp:
      return "TCP";
    case 17:
      return "UDP";
    case kProtocolAny:
      return "any";
    default:
      return std::to_string(protocol);
  }
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string ruleText(const FirewallRuleRecord& r) {
  std::string text = "name=" + quoted(r.name) + " dir=out action=" + (r.block ? "block" : "allow");
  text += " profile=" + profileNames(r.profiles);
  text += " protocol=" + protocolName(r.protocol);
  text += " remoteip=" + (isAny(r.remoteAddresses) ? std::string("any") : r.remoteAddresses);
  if (!isAny(r.remotePorts)) text += " remoteport=" + r.remotePorts;
  if (!r.applicationName.empty()) text += " program=" + quoted(r.applicationName);
  if (!r.serviceName.empty() && r.serviceName != "*") text += " service=" + r.serviceName;
  if (!isAny(r.localAddresses)) text += " localip=" + r.localAddresses;
  if (!isAny(r.localPorts)) text += " localport=" + r.localPorts;
  if (r.interfaceTypes != "All" && !r.interfaceTypes.empty())
    text += " interfacetype=" + r.interfaceTypes;
  return text;
}

struct Applicability {
  bool applies = false;
  bool conditional = false;
  std::vector<std::string> conditions;
};

// Whether an outbound rule of this action covers TCP to the address on 80/443.
Applicability applies(const FirewallRuleRecord& r, std::uint32_t address, long enabledProfiles) {
  Applicability a;
  if (!r.enabled || !r.outbound) return a;
  if ((r.profiles & enabledProfiles) == 0) return a;
  if (r.protocol != kProtocolTcp && r.protocol != kProtocolAny) return a;
  Match addresses = matchAddresses(r.remoteAddresses, address);
  if (addresses == Match::No) return a;
  PortCover ports =
      r.protocol == kProtocolAny ? PortCover{true, true, false} : coverPorts(r.remotePorts);
  if (!ports.http && !ports.https && !ports.unknown) return a;
  a.applies = true;
  if (addresses == Match::Maybe) a.conditions.push_back("remoteip=" + r.remoteAddresses);
  if (!(ports.http && ports.https)) a.conditions.push_back("remoteport=" + r.remotePorts);
  if (!r.applicationName.empty()) a.conditions.push_back("program=" + quoted(r.applicationName));
  if (!r.serviceName.empty() && r.serviceName != "*")
    a.conditions.push_back("service=" + r.serviceName);
  if (!isAny(r.localAddresses)) a.conditions.push_back("localip=" + r.localAddresses);
  if (!isAny(r.localPorts)) a.conditions.push_back("localport=" + r.localPorts);
  if (r.interfaceTypes != "All" && !r.interfaceTypes.empty())
    a.conditions.push_back("interfacetype=" + r.interfaceTypes);
  a.conditional = !a.conditions.empty();
  return a;
}

}  // namespace

std::string profileNames(long bits) {
  if ((bits & 7) == 7) return "any";
  std::string out;
  auto add = [&](long bit, const char* name) {
    if (bits & bit) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(1, "domain");
  add(2, "private");
  add(4, "public");
  return out.empty() ? "none" : out;
}

FirewallFacts evaluateFirewall(const std::string& ipv4, const FirewallProfileState& state,
                               const std::vector<FirewallRuleRecord>& rules) {
  FirewallFacts facts;
  facts.destination = ipv4;
  facts.readable = true;
  facts.sources.push_back("Windows Firewall (INetFwPolicy2)");
  auto address = parseIpv4(ipv4);
  if (!address) {
    facts.readable = false;
    facts.error = "'" + ipv4 + "' is not an IPv4 address";
    return facts;
  }
  long enabledProfiles = 0;
  for (const auto& p : state.profiles)
    if (p.enabled && (state.activeProfiles & p.type)) enabledProfiles |= p.type;
  if (enabledProfiles == 0) {
    facts.problems.push_back("Windows Firewall is off in the active profile (" +
                             profileNames(state.activeProfiles) + ")");
    return facts;
  }

  for (const auto& rule : rules) {
    if (!rule.block) continue;
    Applicability a = applies(rule, *address, enabledProfiles);
    if (!a.applies) continue;
    FirewallFinding f;
    f.tool = "Windows Firewall";
    f.table = profileNames(rule.profiles & enabledProfiles);
    f.chain = "outbound";
    f.action = FirewallAction::Drop;
    f.destination = isAny(rule.remoteAddresses) ? "" : rule.remoteAddresses;
    f.protocol = protocolName(rule.protocol);
    f.ports = isAny(rule.remotePorts) ? "" : rule.remotePorts;
    if (!rule.applicationName.empty())
      f.owner = "program " + rule.applicationName;
    else if (!rule.serviceName.empty() && rule.serviceName != "*")
      f.owner = "service " + rule.serviceName;
    if (rule.interfaceTypes != "All") f.outInterface = rule.interfaceTypes;
    for (const auto& c : a.conditions)
      if (c.rfind("localip=", 0) == 0 || c.rfind("localport=", 0) == 0)
        f.otherConditions.push_back(c);
    f.comment = rule.grouping;
    f.ruleText = ruleText(rule);
    f.fixCommand = "netsh advfirewall firewall delete rule name=" + quoted(rule.name) + " dir=out";
    f.conditional = a.conditional;
    facts.blocking.push_back(std::move(f));
  }
  // Unconditional findings first: they are the cause for certain.
  std::stable_sort(facts.blocking.begin(), facts.blocking.end(),
                   [](const FirewallFinding& a, const FirewallFinding& b) {
                     return !a.conditional && b.conditional;
                   });

  // A blocking default only matters when no allow rule lets the traffic through.
  long blockingDefaults = 0;
  for (const auto& p : state.profiles)
    if ((enabledProfiles & p.type) && p.defaultOutboundBlock) blockingDefaults |= p.type;
  if (blockingDefaults != 0) {
    const FirewallRuleRecord* partialAllow = nullptr;
    bool allowed = false;
    for (const auto& rule : rules) {
      if (rule.block) continue;
      Applicability a = applies(rule, *address, blockingDefaults);
      if (!a.applies) continue;
      if (!a.conditional) {
        allowed = true;
        break;
      }
      if (!partialAllow) partialAllow = &rule;
    }
    if (!allowed) {
      FirewallFinding f;
      f.tool = "Windows Firewall";
      f.table = profileNames(blockingDefaults);
      f.chain = "outbound";
      f.action = FirewallAction::Drop;
      f.isPolicy = true;
      f.ruleText =
          "default outbound action: block (profile " + profileNames(blockingDefaults) + ")";
      f.fixCommand =
          "netsh advfirewall firewall add rule name=\"metadata server\" dir=out action=allow "
          "protocol=TCP remoteip=" +
          ipv4 + " remoteport=80,443";
      if (partialAllow) {
        f.exemptedBy = ruleText(*partialAllow);
        f.conditional = true;
      }
      facts.blocking.push_back(std::move(f));
    }
  }
  return facts;
}

}  // namespace guestpulse::platform::win
