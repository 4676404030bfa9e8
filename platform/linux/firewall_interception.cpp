// The nat interception of a service proxy (see firewall_scan.hpp): the rules both
// readers put into the model of firewall_walk.hpp, followed from the nat entry chains for
// the kinds of TCP connection the service-proxy diagnosis asks about. Each walk decides,
// condition by condition, whether a rule certainly, maybe or never matches the
// connection, so the same rules answer "does the proxy's own traffic loop back into it?"
// and "is port 8080 intercepted on the way in?".

#include <charconv>
#include <map>

#include "platform/linux/firewall_walk.hpp"

namespace guestpulse::platform {

using namespace firewall;

namespace {

// How a walk picks the destination address or port of the connection it follows: any
// (unknown: conditions on it are undecided), one none of the rules names (a connection
// to an arbitrary upstream), or a given one.
enum class Pick { Any, Unnamed, Given };

// The connection a walk follows.
struct Packet {
  bool inbound = false;              // PREROUTING: arriving for a local address
  std::optional<std::uint32_t> uid;  // outbound: the socket's owner, when known
  std::optional<std::uint32_t> gid;
  Pick addressPick = Pick::Any;
  std::uint32_t address = 0;
  Pick portPick = Pick::Any;
  std::uint16_t port = 0;
};

constexpr std::uint32_t kLoopback = 0x7f000000u;  // 127.0.0.0/8

bool inLoopback(std::string_view address) {
  auto a = parseIpv4(address);
  return a && (*a & 0xff000000u) == kLoopback;
}

// An address item's first and last address ("a.b.c.d", "a.b.c.d/n", "lo-hi").
std::optional<std::pair<std::uint32_t, std::uint32_t>> addressSpan(std::string_view item) {
  const std::size_t dash = item.find('-');
  if (dash != std::string_view::npos) {
    auto lo = parseIpv4(item.substr(0, dash)), hi = parseIpv4(item.substr(dash + 1));
    if (!lo || !hi) return std::nullopt;
    return std::pair{*lo, *hi};
  }
  const std::size_t slash = item.find('/');
  auto base = parseIpv4(item.substr(0, slash));
  if (!base) return std::nullopt;
  unsigned bits = 32;
  if (slash != std::string_view::npos) {
    auto len = item.substr(slash + 1);
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
    if (ec != std::errc() || end != len.data() + len.size() || bits > 32) return std::nullopt;
  }
  const std::uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
  return std::pair{*base & mask, (*base & mask) | ~mask};
}

bool isLoopback(std::uint32_t address) { return (address & 0xff000000u) == kLoopback; }

// An address item of the model ("a.b.c.d", "a.b.c.d/n", "lo-hi", "@set") against a
// destination or source: `pick` and `address` as in Packet.
Coverage addressItem(std::string_view item, Pick pick, std::uint32_t address) {
  auto span = addressSpan(item);
  if (!span) return Coverage::Some;  // a named set, or what we cannot read
  if (span->first == 0 && span->second == 0xffffffffu) return Coverage::All;
  switch (pick) {
    case Pick::Given:
      return span->first <= address && address <= span->second ? Coverage::All : Coverage::None;
    case Pick::Unnamed:
      return Coverage::None;
    case Pick::Any:
      // Some non-loopback address: an item within 127.0.0.0/8 cannot hold it.
      return isLoopback(span->first) && isLoopback(span->second) ? Coverage::None : Coverage::Some;
  }
  return Coverage::Some;
}

Coverage portItem(std::string_view item, Pick pick, std::uint16_t port) {
  const std::size_t dash = item.find('-');
  auto lo = portNumber(item.substr(0, dash));
  auto hi = dash == std::string_view::npos ? lo : portNumber(item.substr(dash + 1));
  if (!lo || !hi) return Coverage::Some;
  if (*lo <= 1 && *hi >= 65535) return Coverage::All;
  if (pick == Pick::Given) return *lo <= port && port <= *hi ? Coverage::All : Coverage::None;
  return pick == Pick::Unnamed ? Coverage::None : Coverage::Some;
}

// The packet's interface is never loopback (a remote peer); which one it is, is unknown.
Coverage interfaceItem(std::string_view item) {
  if (item == "+") return Coverage::All;
  if (item == "lo" || item == "lo+") return Coverage::None;
  return Coverage::Some;
}

Coverage ownerItem(std::string_view item, std::optional<std::uint32_t> id) {
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
  if (ec != std::errc() || end != item.data() + item.size() || !id) return Coverage::Some;
  return value == *id ? Coverage::All : Coverage::None;
}

Coverage conditionCoverage(const Condition& condition, const Packet& packet) {
  Coverage c = Coverage::None;
  auto anyItem = [&](auto&& judge) {
    for (const auto& item : condition.values) c = std::max(c, judge(std::string_view(item)));
  };
  switch (condition.match) {
    case Match::Destination:
      anyItem(
          [&](std::string_view i) { return addressItem(i, packet.addressPick, packet.address); });
      break;
    case Match::Source:
      anyItem([](std::string_view i) { return addressItem(i, Pick::Any, 0); });
      break;
    case Match::OutInterface:
      if (packet.inbound) return Coverage::Some;  // not known before routing
      anyItem(interfaceItem);
      break;
    case Match::InInterface:
      if (!packet.inbound) return Coverage::Some;
      anyItem(interfaceItem);
      break;
    case Match::Protocol:
      anyItem([](std::string_view i) {
        return i == "tcp" || i == "6" || i == "all" || i == "0" ? Coverage::All : Coverage::None;
      });
      break;
    case Match::DestPort:
      anyItem([&](std::string_view i) { return portItem(i, packet.portPick, packet.port); });
      break;
    case Match::UidOwner:
      // Arriving packets have no local socket owner: an owner match never takes them.
      if (packet.inbound) return Coverage::None;
      anyItem([&](std::string_view i) { return ownerItem(i, packet.uid); });
      break;
    case Match::GidOwner:
      if (packet.inbound) return Coverage::None;
      anyItem([&](std::string_view i) { return ownerItem(i, packet.gid); });
      break;
    case Match::State:
      anyItem([](std::string_view i) { return i == "NEW" ? Coverage::All : Coverage::None; });
      break;
    case Match::Other:
      return Coverage::Some;
  }
  return condition.negated ? negate(c) : c;
}

Coverage ruleCoverage(const Rule& rule, const Packet& packet) {
  Coverage c = Coverage::All;
  for (const auto& condition : rule.conditions) c = both(c, conditionCoverage(condition, packet));
  return c;
}

// Where a REDIRECT or DNAT sends the connection: to this machine (and which port)?
struct RedirectTarget {
  bool local = false;
  std::uint16_t port = 0;
};

RedirectTarget redirectTarget(const Rule& rule) {
  std::string_view to = rule.shown.redirectTo;  // "15001", ":15001", "127.0.0.1:15001"
  RedirectTarget target;
  std::string_view host, port = to;
  if (rule.target != "REDIRECT") {
    const std::size_t colon = to.rfind(':');
    host = colon == std::string_view::npos ? to : to.substr(0, colon);
    port = colon == std::string_view::npos ? std::string_view() : to.substr(colon + 1);
  }
  target.local = rule.target == "REDIRECT" || host.empty() || inLoopback(host);
  if (!port.empty() && port.front() == ':') port.remove_prefix(1);
  port = port.substr(0, port.find('-'));
  if (auto n = portNumber(port)) target.port = static_cast<std::uint16_t>(*n);
  return target;
}

struct Hit {
  const Rule* rule = nullptr;
  const Chain* entry = nullptr;
  Reach reach = Reach::Maybe;
  std::vector<std::string> path, exemptions, exemptUids;
};

// Follows one kind of packet through one nat table from an entry chain, collecting the
// local redirects it reaches.
class Walker {
 public:
  Walker(const Table& table, const Packet& packet, std::vector<Hit>& hits)
      : table_(table), packet_(packet), hits_(hits) {}

  void walkEntry(const Chain& chain) {
    entry_ = &chain;
    Frame frame;
    bool taken = false;
    std::vector<std::string> accepted;
    walk(chain, 0, frame, taken, accepted);
  }

 private:
  struct Frame {
    bool certain = true;  // every such packet reaches the current rule
    std::vector<std::string> path, exemptions, exemptUids;
  };
  enum class Out { Continue, Done };

  static void exempt(Frame& frame, const Rule& rule) {
    frame.exemptions.push_back(rule.shown.ruleText);
    for (const auto& condition : rule.conditions) {
      if (condition.match != Match::UidOwner || condition.negated) continue;
      frame.exemptUids.insert(frame.exemptUids.end(), condition.values.begin(),
                              condition.values.end());
    }
  }

  // `taken`: some packets left the table inside (accepted, redirected), so what follows the
  // caller's jump is not reached for certain. `accepted`: ACCEPT exemptions met inside,
  // which also hold for the caller's later rules.
  Out walk(const Chain& chain, int depth, Frame frame, bool& taken,
           std::vector<std::string>& accepted) {
    bool leaked = false;  // some packets RETURNed from this chain and go on in the caller
    auto decided = [&]() {
      if (!leaked) return Out::Done;
      taken = true;
      return Out::Continue;
    };
    for (const auto& rule : chain.rules) {
      const Coverage c = ruleCoverage(rule, packet_);
      if (c == Coverage::None) continue;
      const bool all = c == Coverage::All;
      switch (rule.verdict) {
        case Verdict::Accept:
          if (all) return decided();
          exempt(frame, rule);
          accepted.push_back(rule.shown.ruleText);
          frame.certain = false;
          taken = true;
          break;
        case Verdict::Return:
          if (all) return Out::Continue;
          exempt(frame, rule);
          frame.certain = false;
          leaked = true;
          break;
        case Verdict::Redirect:
          if (redirectTarget(rule).local) {
            hits_.push_back({&rule, entry_, all && frame.certain ? Reach::Yes : Reach::Maybe,
                             frame.path, frame.exemptions, frame.exemptUids});
          }
          if (all) return decided();
          frame.certain = false;
          taken = true;
          break;
        case Verdict::Drop:
        case Verdict::Reject:
          if (all) return decided();
          frame.certain = false;
          taken = true;
          break;
        case Verdict::Jump:
        case Verdict::Goto: {
          const Chain* target = table_.find(rule.target);
          if (!target || depth >= 16) break;  // the kernel refuses loops; depth is a guard
          Frame inner = frame;
          inner.path.push_back(rule.shown.ruleText);
          inner.certain = frame.certain && all;
          bool innerTaken = false;
          std::vector<std::string> innerAccepted;
          Out out = walk(*target, depth + 1, inner, innerTaken, innerAccepted);
          for (auto& text : innerAccepted) {
            frame.exemptions.push_back(text);
            accepted.push_back(std::move(text));
          }
          if (all && out == Out::Done) return decided();
          if (all && rule.verdict == Verdict::Goto) return Out::Continue;
          if (out == Out::Done || innerTaken || rule.verdict == Verdict::Goto) {
            frame.certain = false;
            taken = true;
          }
          break;
        }
        case Verdict::None:
          break;
      }
    }
    return Out::Continue;
  }

  const Table& table_;
  const Packet& packet_;
  std::vector<Hit>& hits_;
  const Chain* entry_ = nullptr;
};

bool isNatEntry(const Chain& chain, const std::string& hook) {
  return chain.type == "nat" && chain.hook == hook;
}

// Every local redirect `packet` reaches from the nat entry chains on `hook`, each once
// (the most certain way it is reached).
std::vector<Hit> walkNat(const std::vector<Table>& tables, const std::string& hook,
                         const Packet& packet) {
  std::vector<Hit> hits;
  for (const auto& table : tables) {
    Walker walker(table, packet, hits);
    for (const auto& chain : table.chains) {
      if (isNatEntry(chain, hook)) walker.walkEntry(chain);
    }
  }
  std::vector<Hit> unique;
  for (auto& hit : hits) {
    auto same = std::find_if(unique.begin(), unique.end(),
                             [&](const Hit& u) { return u.rule == hit.rule; });
    if (same == unique.end())
      unique.push_back(std::move(hit));
    else if (hit.reach > same->reach)
      *same = std::move(hit);
  }
  return unique;
}

Reach reachOf(const std::vector<Hit>& hits, const Rule* rule) {
  for (const auto& hit : hits) {
    if (hit.rule == rule) return hit.reach;
  }
  return Reach::No;
}

// The redirects the proxy's own connections reach, and how surely: a loop exists when
// some connection to an upstream is certainly redirected. Tried: one to an address and a
// port no rule names, and one to each address and each port the rules name (so an
// excluded metadata server or an included 10.0.0.0/8 is seen for what it is).
std::vector<Hit> proxyHits(const std::vector<Table>& tables, std::optional<std::uint32_t> uid) {
  std::vector<std::uint32_t> addresses;
  std::vector<std::uint16_t> ports;
  for (const auto& table : tables) {
    for (const auto& chain : table.chains) {
      for (const auto& rule : chain.rules) {
        for (const auto& condition : rule.conditions) {
          for (const auto& item : condition.values) {
            if (condition.match == Match::Destination) {
              auto span = addressSpan(item);
              if (span && !isLoopback(span->first)) addresses.push_back(span->first);
            } else if (condition.match == Match::DestPort) {
              if (auto lo = portNumber(std::string_view(item).substr(0, item.find('-'))))
                ports.push_back(static_cast<std::uint16_t>(*lo));
            }
          }
        }
      }
    }
  }
  Packet unnamed;
  unnamed.uid = uid;
  unnamed.addressPick = unnamed.portPick = Pick::Unnamed;
  std::vector<Packet> packets{unnamed};
  for (std::uint32_t address : addresses) {
    Packet p = unnamed;
    p.addressPick = Pick::Given;
    p.address = address;
    packets.push_back(p);
  }
  for (std::uint16_t port : ports) {
    Packet p = unnamed;
    p.portPick = Pick::Given;
    p.port = port;
    packets.push_back(p);
  }
  std::vector<Hit> best;
  for (const auto& packet : packets) {
    for (auto& hit : walkNat(tables, "output", packet)) {
      auto same =
          std::find_if(best.begin(), best.end(), [&](const Hit& b) { return b.rule == hit.rule; });
      if (same == best.end())
        best.push_back(std::move(hit));
      else if (hit.reach > same->reach)
        *same = std::move(hit);
    }
  }
  return best;
}

InterceptionScan interceptionOf(ParsedTables parsed, const std::string& tool,
                                const InterceptionScanOptions& options) {
  InterceptionScan scan;
  scan.listing = std::move(parsed.scan);
  if (!scan.listing.error.empty()) return scan;
  scan.listing.parsed = true;
  const std::vector<Table>& tables = parsed.tables;
  std::map<const Rule*, std::string> tableOf;
  for (const auto& table : tables) {
    bool nat = std::any_of(table.chains.begin(), table.chains.end(),
                           [](const Chain& c) { return c.type == "nat"; });
    for (const auto& chain : table.chains) {
      if (nat && chain.hook.empty()) scan.natChains.push_back(chain.name);
      for (const auto& rule : chain.rules) tableOf[&rule] = table.name;
    }
  }
  const InterceptionQuery& query = options.query;
  auto redirectOf = [&](const Hit& hit) {
    InterceptionRedirect r;
    r.rule = hit.rule->shown;
    r.rule.tool = tool;
    r.rule.table = tableOf[hit.rule];
    r.rule.chain = hit.rule->chain;
    r.rule.action = FirewallAction::Redirect;
    r.toPort = redirectTarget(*hit.rule).port;
    r.entryChain = hit.entry->name;
    const std::string uid = options.proxyUid ? std::to_string(*options.proxyUid) : "PROXY_UID";
    r.exemptCommand = tool == "nft" ? "nft insert rule " + r.rule.table + " " + r.entryChain +
                                          " meta skuid " + uid + " return"
                                    : tool + " -t nat -I " + r.entryChain +
                                          " 1 -m owner --uid-owner " + uid + " -j RETURN";
    r.path = hit.path;
    r.exemptions = hit.exemptions;
    r.exemptUids = hit.exemptUids;
    return r;
  };

  Packet anyOutbound;
  const std::vector<Hit> outbound = walkNat(tables, "output", anyOutbound);
  const std::vector<Hit> fromProxy = proxyHits(tables, options.proxyUid);
  std::vector<Hit> fromProbe;
  if (auto probeAddress = parseIpv4(query.probeAddress)) {
    Packet probe;
    probe.uid = options.ownUid;
    probe.gid = options.ownGid;
    probe.addressPick = probe.portPick = Pick::Given;
    probe.address = *probeAddress;
    probe.port = query.probePort;
    fromProbe = walkNat(tables, "output", probe);
  }
  for (const auto& hit : outbound) {
    InterceptionRedirect r = redirectOf(hit);
    r.proxyTraffic = reachOf(fromProxy, hit.rule);
    r.probeTraffic = reachOf(fromProbe, hit.rule);
    scan.outbound.push_back(std::move(r));
  }

  Packet anyInbound;
  anyInbound.inbound = true;
  const std::vector<Hit> inbound = walkNat(tables, "prerouting", anyInbound);
  for (const auto& hit : inbound) {
    InterceptionRedirect r = redirectOf(hit);
    r.proxyTraffic = Reach::No;
    for (std::uint16_t port : query.servingPorts) {
      Packet arriving;
      arriving.inbound = true;
      arriving.portPick = Pick::Given;
      arriving.port = port;
      if (reachOf(walkNat(tables, "prerouting", arriving), hit.rule) != Reach::No)
        r.servingPorts.push_back(port);
    }
    scan.inbound.push_back(std::move(r));
  }
  return scan;
}

template <class Parse>
InterceptionScan interceptionScan(const char* what, const std::string& tool, const Parse& parse,
                                  const InterceptionScanOptions& options) {
  try {
    return interceptionOf(parse(), tool, options);
  } catch (const std::exception& e) {
    InterceptionScan scan;
    scan.listing.error = std::string("reading ") + what + " failed: " + e.what();
    return scan;
  }
}

}  // namespace

InterceptionScan scanIptablesInterception(std::string_view saveText,
                                          const InterceptionScanOptions& options) {
  FirewallScanOptions parseOptions;
  parseOptions.command = options.command;
  return interceptionScan(
      "iptables rules", options.command,
      [&] { return parseIptablesTables(saveText, "0.0.0.0", 0, parseOptions); }, options);
}

InterceptionScan scanNftInterception(std::string_view json,
                                     const InterceptionScanOptions& options) {
  FirewallScanOptions parseOptions;
  parseOptions.command = "nft";
  parseOptions.skipTables = options.skipTables;
  return interceptionScan(
      "the nft ruleset", "nft", [&] { return parseNftTables(json, "0.0.0.0", 0, parseOptions); },
      options);
}

}  // namespace guestpulse::platform
