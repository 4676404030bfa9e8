// The nat interception of a service proxy (see firewall_scan.hpp): the rules both
// readers put into the model of firewall_walk.hpp, followed from the nat entry chains
// (firewall_interception_walk.hpp) for the kinds of TCP connection the service-proxy
// diagnosis asks about, so the same rules answer "does the proxy's own traffic loop back
// into it?", "would this agent's connection be taken?" and "is port 8080 intercepted on
// the way in?".

#include <map>

#include "platform/linux/firewall_interception_walk.hpp"

namespace guestpulse::platform {

using namespace firewall;

namespace {

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