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
// The facts themselves are value types in host_facts.hpp.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "platform/host_facts.hpp"

namespace guestpulse::platform {

struct InspectorOptions {
  // Empty = the OS default. Overridable so tests can point at temporary files.
  std::string hostsPath;                           // /etc/hosts
  std::string resolverPath;                        // /etc/resolv.conf
  std::string resolvedUpstreamPath;                // /run/systemd/resolve/resolv.conf
  std::string environmentFilePath;                 // /etc/environment
  std::string socketTableDirectory;                // /proc/self/net (tcp, tcp6)
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
  // The nat rules that intercept TCP connections for a local proxy (a service-proxy
  // sidecar such as Envoy): redirects reached from OUTPUT and PREROUTING, the socket-owner
  // exclusions met before them, and whether the proxy's own traffic (the owner of the
  // socket listening on query.adminPort, else query.proxyPort) and this agent's connection
  // to query.probeAddress would be redirected. Needs the same privileges as firewall().
  virtual InterceptionFacts interception(const InterceptionQuery& query) = 0;
};

std::unique_ptr<Inspector> makeInspector(InspectorOptions options = {});

}  // namespace guestpulse::platform
