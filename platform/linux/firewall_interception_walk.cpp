#include "platform/linux/firewall_interception_walk.hpp"

#include <charconv>

namespace guestpulse::platform::firewall {

namespace {

constexpr std::uint32_t kLoopback = 0x7f000000u;  // 127.0.0.0/8

bool inLoopback(std::string_view address) {
  auto a = parseIpv4(address);
  return a && (*a & 0xff000000u) == kLoopback;
}

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

}  // namespace

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

}  // namespace guestpulse::platform::firewall
