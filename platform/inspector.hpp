#pragma once
// PlatformInspector: the facts about this machine that a human gathers by hand when the
// metadata server is unreachable (the hosts file, the resolver configuration, the route
// to an address, the proxy environment, local firewall rules), as plain values that the
// metadata probe and the cause classifier combine into a diagnosis.
//
// Contract (every implementation):
//  - read-only: it never changes a file, a route or a firewall rule, and never sends a
//    packet anywhere (route lookups ask the local kernel);
//  - every method may block (file reads, a netlink or IP Helper query, a subprocess), so
//    callers run it on the BlockingPool with a deadline; each method is bounded on its own
//    too: subprocesses are killed after `commandTimeout`, kernel queries time out after
//    `queryTimeout`, files are read up to 1 MiB;
//  - never throws: each result says whether it could be gathered and, if not, why, in
//    words fit for an operator ("permission denied (run as root or with CAP_NET_ADMIN)");
//  - methods hold no shared mutable state and may run concurrently.
//
// Field names are OS-neutral. Linux: /etc/hosts, /etc/resolv.conf (+ systemd-resolved),
// rtnetlink, iptables/nft, the process environment and /etc/environment. Windows:
// %SystemRoot%\System32\drivers\etc\hosts, the DNS servers of each adapter, the IP Helper
// route table (`route print`), Windows Firewall rules, the WinHTTP proxy.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "agent/net/firewall_rules.hpp"
#include "agent/net/proxy_env.hpp"

namespace guestpulse::platform {

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

  bool found() const { return status == RouteStatus::Found; }
};

// One place proxy settings come from, as *_proxy variables (ProxyEnvironment reads them).
struct ProxySource {
  std::string name;  // "process environment", "/etc/environment"; Windows: "WinHTTP"
  bool readable = true;
  std::string error;
  EnvironmentMap variables;  // only the proxy-relevant ones: see proxyRelevantVariables()
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

struct InspectorOptions {
  // Empty = the OS default. Overridable so tests can point at temporary files.
  std::string hostsPath;                           // /etc/hosts
  std::string resolverPath;                        // /etc/resolv.conf
  std::string resolvedUpstreamPath;                // /run/systemd/resolve/resolv.conf
  std::string environmentFilePath;                 // /etc/environment
  std::chrono::milliseconds commandTimeout{3000};  // per firewall listing subprocess
  std::chrono::milliseconds queryTimeout{1000};    // per kernel route query
  // Where firewall tools are looked for (absolute paths only; no shell, no PATH).
  std::vector<std::string> toolDirectories = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
};

class Inspector {
 public:
  virtual ~Inspector() = default;

  // The hosts-file entries for `name` (case-insensitive, trailing dot ignored).
  virtual HostsFacts hostsEntry(const std::string& name) = 0;
  // The system resolver configuration, and behind a local stub the servers it forwards to.
  virtual ResolverFacts resolver() = 0;
  // The kernel's route to `ipv4`, as `ip route get` / `route print` would show it.
  virtual RouteFacts routeTo(const std::string& ipv4) = 0;
  // Proxy settings: this process's environment and the machine-wide ones.
  virtual ProxyFacts proxyEnvironment() = 0;
  // Local firewall rules that drop, reject or redirect new TCP connections to `ipv4` on
  // ports 80/443. Needs privileges (root / CAP_NET_ADMIN; Administrator); without them
  // readable is false and error says so. The route's interface is used to leave out rules
  // for other interfaces.
  virtual FirewallFacts firewall(const std::string& ipv4) = 0;
};

std::unique_ptr<Inspector> makeInspector(InspectorOptions options = {});

}  // namespace guestpulse::platform
