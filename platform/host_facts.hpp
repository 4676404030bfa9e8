#pragma once
// The facts about this machine that a human gathers by hand when the metadata server is
// unreachable (the hosts file, the resolver configuration, the route to an address, the
// proxy environment, local firewall rules), as plain values. platform::Inspector gathers
// them on each OS; the diagnosis (agent/diagnosis/) reads them. Value types only: no I/O,
// no OS header.
//
// Field names are OS-neutral. Linux: /etc/hosts, /etc/resolv.conf (+ systemd-resolved),
// rtnetlink, iptables/nft, the process environment and /etc/environment. Windows:
// %SystemRoot%\System32\drivers\etc\hosts, the DNS servers of each adapter, the IP Helper
// route table (`route print`), Windows Firewall rules, the WinHTTP proxy.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace guestpulse::platform {

// Environment variables by name (a process environment, /etc/environment, or the WinHTTP
// proxy translated to http(s)_proxy / no_proxy).
using EnvironmentMap = std::map<std::string, std::string>;

enum class FirewallAction { Drop, Reject, Redirect };

const char* toString(FirewallAction action);  // "DROP", "REJECT", "REDIRECT"

struct FirewallFinding {
  std::string tool;   // the command that manages it: "iptables", "iptables-legacy", "nft"
  std::string table;  // "filter", "nat"; nft: "inet filter"
  std::string chain;  // "OUTPUT", a user chain reached from it; nft: "output"
  FirewallAction action = FirewallAction::Drop;
  bool isPolicy = false;  // the chain's default policy rather than a rule

  // The matches, in the tool's own syntax, empty when the rule has none.
  std::string destination;   // "169.254.169.254/32", "169.254.0.0/16", "!= 10.0.0.0/8"
  std::string protocol;      // "tcp"
  std::string ports;         // destination ports: "80", "80,443", "{ 80, 443 }", "! 22"
  std::string owner;         // "--uid-owner 0", "! --uid-owner 1000", "meta skuid 0"
  std::string outInterface;  // "eth0", "! lo"
  std::vector<std::string> otherConditions;  // "-m set --match-set blocked dst", "ip daddr @x"
  std::string rejectWith;  // "tcp-reset", "icmp-port-unreachable", "tcp reset", "icmpx ..."
  std::string redirectTo;  // Redirect only: "127.0.0.1:8080", ":8443"
  std::string comment;

  std::string exemptedBy;  // an earlier conditional ACCEPT that may let the traffic pass
  std::string ruleText;    // as the tool prints it ("-A OUTPUT -d ... -j REJECT ...")
  // How to undo it: for a rule, the command deleting exactly that rule
  // ("iptables -D OUTPUT -d 169.254.169.254/32 -j DROP",
  //  "nft delete rule inet filter output handle 4"); for a DROP policy, the command
  // inserting an ACCEPT for the address at the top of the chain.
  std::string fixCommand;

  // The rule catches only part of the traffic to the address on the scanned ports (a port
  // subset) or depends on what we could not decide (owner, named sets, other matches).
  bool conditional = false;

  // One line for messages: "iptables filter OUTPUT: -A OUTPUT -d ... -j DROP".
  std::string describe() const;
};

struct HostsFacts {
  std::string path;  // the file read
  std::string name;  // the name asked about
  bool readable = false;
  std::string error;  // when !readable: "open /etc/hosts: No such file or directory"
  std::vector<std::string> addresses;      // what the file maps `name` to, in file order
  std::vector<std::string> matchingLines;  // "3: 169.254.169.254 metadata.google.internal"
  std::vector<std::string> invalidLines;   // "7: '169.254.169.254metadata...' is not an IP address"
  std::size_t entryCount = 0;              // valid entries in the whole file
};

struct ResolverFacts {
  std::string source;      // "/etc/resolv.conf"; Windows: "adapter DNS settings"
  std::string linkTarget;  // where `source` links to ("../run/systemd/resolve/stub-resolv.conf")
  bool readable = false;
  std::string error;  // "open /etc/resolv.conf: No such file or directory (a dangling link ...)"
  std::vector<std::string> nameservers;  // the servers the stub resolver asks, in order
  std::vector<std::string> search;
  int ndots = 1;
  int timeoutSeconds = 5;
  int attempts = 2;
  std::vector<std::string> warnings;  // from parsing: ignored servers, invalid lines

  // The nameservers are a local caching resolver that forwards elsewhere.
  bool localStub = false;
  std::string stubName;        // "systemd-resolved"
  std::string upstreamSource;  // "/run/systemd/resolve/resolv.conf"
  bool upstreamReadable = false;
  std::string upstreamError;
  std::vector<std::string> upstreamNameservers;  // where the stub forwards queries

  // The servers queries finally reach: the upstream ones behind a stub, else nameservers.
  const std::vector<std::string>& effectiveNameservers() const {
    return localStub ? upstreamNameservers : nameservers;
  }
};

enum class RouteStatus {
  Found,         // a usable route (unicast, or local when the address is on this machine)
  NoRoute,       // no matching route at all (ENETUNREACH; Windows: no best route)
  Blackhole,     // a blackhole route silently discards the traffic
  Unreachable,   // an "unreachable" route: the sender gets EHOSTUNREACH
  Prohibited,    // a "prohibit" route: the sender gets EACCES
  LookupFailed,  // the query itself failed (error says why); nothing is known
};

const char* toString(RouteStatus status);  // "found", "no route", "blackhole", ...

struct RouteFacts {
  std::string destination;
  RouteStatus status = RouteStatus::LookupFailed;
  std::string error;               // for every status but Found: "Network is unreachable"
  std::string interface;           // "ens4", "lo"; Windows: the interface alias
  std::string gateway;             // next hop; empty when directly connected
  std::string source;              // the preferred source address
  bool directlyConnected = false;  // on-link: no gateway
  bool local = false;              // the address belongs to this machine (a local route)
  std::string table;               // Linux routing table: "main", "local", or its number
  // When there is no route: the interface the default route (0.0.0.0/0) uses, which the
  // fix names (Windows: its index, as `route /p add ... if <index>` takes it). May be empty.
  std::string defaultRouteInterface;

  bool found() const { return status == RouteStatus::Found; }
};

// One place proxy settings come from, as *_proxy variables (ProxyEnvironment reads them).
struct ProxySource {
  std::string name;  // "process environment", "/etc/environment"; Windows: "WinHTTP"
  bool readable = true;
  std::string error;
  EnvironmentMap variables;  // only the proxy-relevant ones: see proxy_variables.hpp
};

struct ProxyFacts {
  // [0] is always this process's environment. Then machine-wide settings that other
  // programs (login shells, services) get although this daemon may not: on Linux
  // /etc/environment, on Windows the WinHTTP proxy translated to http(s)_proxy/no_proxy.
  std::vector<ProxySource> sources;
};

struct FirewallFacts {
  std::string destination;
  bool readable = false;  // at least one rule listing was read and understood
  std::string error;      // when !readable: why, e.g. "iptables-save: Permission denied
                          // (you must be root)" or "no iptables-save or nft found in ..."
  std::vector<FirewallFinding> blocking;     // DROP / REJECT rules and DROP policies
  std::vector<FirewallFinding> redirecting;  // DNAT / REDIRECT of the address
  std::vector<std::string> sources;          // listings read: "iptables-nft-save", "nft", ...
  std::vector<std::string> problems;         // listings that failed while others worked, notes
};

// Whether a kind of TCP connection reaches a rule, as far as the rules tell: No, only
// under conditions that could not be decided (Maybe), or certainly (Yes).
enum class Reach { No, Maybe, Yes };

const char* toString(Reach reach);  // "no", "maybe", "yes"

// What the service-proxy diagnosis asks of the nat interception: which local ports the
// proxy listens on, and one connection of this agent's own to follow through the rules.
struct InterceptionQuery {
  std::uint16_t adminPort = 15000;  // the proxy's admin listener: its owner is the proxy's uid
  std::uint16_t proxyPort = 15001;  // where intercepted traffic is redirected to
  std::vector<std::uint16_t> servingPorts;  // inbound ports that should be intercepted
  std::string probeAddress;                 // IPv4 this agent will connect to; "" = none
  std::uint16_t probePort = 443;
};

// One REDIRECT (or DNAT to this machine) rule that intercepts TCP connections, found on
// the path from nat OUTPUT (outbound) or nat PREROUTING (inbound).
struct InterceptionRedirect {
  FirewallFinding rule;           // action Redirect; redirectTo as the tool prints it
  std::uint16_t toPort = 0;       // the local port it redirects to; 0 when it cannot be told
  std::string entryChain;         // the nat chain on the hook it is reached from ("OUTPUT")
  std::vector<std::string> path;  // the jumps that lead to it, from the entry chain on
  // RETURN / ACCEPT rules matching a socket owner (the proxy's exclusion) met on the path
  // before it, and the uids they name.
  std::vector<std::string> exemptions;
  std::vector<std::string> exemptUids;
  // The proxy's own connections to a remote address (owned by proxyUid, when known) reach
  // it: they would loop back into the proxy.
  Reach proxyTraffic = Reach::Maybe;
  // This agent's connection to probeAddress:probePort reaches it (is taken by the proxy).
  Reach probeTraffic = Reach::No;
  std::vector<std::uint16_t> servingPorts;  // inbound: the serving ports it takes
  // The command that exempts the proxy's uid at the top of the entry chain, before every
  // redirect ("iptables -t nat -I OUTPUT 1 -m owner --uid-owner 1337 -j RETURN"); the uid
  // reads PROXY_UID when it is not known.
  std::string exemptCommand;
};

struct InterceptionFacts {
  bool readable = false;                       // at least one nat listing was read and understood
  std::string error;                           // when !readable: why (privileges, no tools)
  std::vector<std::string> sources;            // listings read: "iptables-nft-save", "nft", ...
  std::vector<std::string> problems;           // listings that failed while others worked, notes
  std::optional<std::uint32_t> proxyUid;       // owner of the proxy's listening socket
  std::string proxyUidSource;                  // "the listener on port 15000", or why it is unknown
  std::uint32_t ownUid = 0;                    // this agent's effective uid
  std::vector<std::string> natChains;          // user chains of the nat tables
  std::vector<InterceptionRedirect> outbound;  // reached from nat OUTPUT
  std::vector<InterceptionRedirect> inbound;   // reached from nat PREROUTING
};

}  // namespace guestpulse::platform
