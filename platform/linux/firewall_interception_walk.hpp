#pragma once
// Internal to the nat interception scanner (firewall_interception.cpp): one kind of TCP
// connection followed through the nat chains of the rule model (firewall_walk.hpp),
// condition by condition: each condition certainly, maybe or never matches it, and the
// walk notes every local redirect it reaches and how surely.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "platform/linux/firewall_walk.hpp"

namespace guestpulse::platform::firewall {

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

// An address item's first and last address ("a.b.c.d", "a.b.c.d/n", "lo-hi").
std::optional<std::pair<std::uint32_t, std::uint32_t>> addressSpan(std::string_view item);
bool isLoopback(std::uint32_t address);

// Where a REDIRECT or DNAT sends the connection: to this machine (and which port)?
struct RedirectTarget {
  bool local = false;
  std::uint16_t port = 0;
};
RedirectTarget redirectTarget(const Rule& rule);

struct Hit {
  const Rule* rule = nullptr;
  const Chain* entry = nullptr;
  Reach reach = Reach::Maybe;
  std::vector<std::string> path, exemptions, exemptUids;
};

// Every local redirect `packet` reaches from the nat entry chains on `hook` ("output",
// "prerouting"), each once, the most certain way it is reached.
std::vector<Hit> walkNat(const std::vector<Table>& tables, const std::string& hook,
                         const Packet& packet);
// How surely `hits` reach `rule`: No when not at all.
Reach reachOf(const std::vector<Hit>& hits, const Rule* rule);

}  // namespace guestpulse::platform::firewall
