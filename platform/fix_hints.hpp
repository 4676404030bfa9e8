#pragma once
// The OS-specific words of a fix: which file, which command an operator runs on this OS
// to see or repair what a cause names. The diagnosis (agent/diagnosis/) writes the
// reasoning and takes these words from here, so one cause reads `iptables -S OUTPUT` on
// Linux and `netsh advfirewall firewall show rule name=all dir=out` on Windows.
//
// Templates may hold placeholders that fillHint() replaces: {address} (the metadata
// server's address), {endpoint} (address:port as dialled), {hostname}, {proxy},
// {interface} (the interface the default route uses, when known), and the ones named
// beside a field.
// Value types and one lookup: no I/O.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace guestpulse::platform {

struct FixHints {
  // Name resolution.
  std::string hostsFile;                    // the hosts file's path
  std::string resolverConfig;               // where the resolver's servers are configured
  std::string hostsFileIgnored;             // the resolver does not consult the hosts file
  std::string restoreNameserver;            // the resolver no longer asks {address} (GCE: DHCP)
  std::string restoreNameserverBehindStub;  // the same, behind a local caching stub
  // Routes and firewall.
  std::string showRoute;     // the command that shows the route to {address}
  std::string restoreRoute;  // how to put the route to {address} back
  // What {interface} reads when the default route's interface is not known.
  std::string unknownInterface;
  std::string listBlockRules;  // commands listing outbound DROP/block rules
  std::string findRejectRule;  // how to find the outbound REJECT rule for {address}
  std::string listRedirects;   // how to see what redirects or proxies metadata traffic
  std::string listRewrites;    // how to see what rewrites packets on the way out
  std::string findClients;     // which local programs talk to {address}
  // Proxies: the machine-wide proxy setting that is not an environment variable
  // (Windows: WinHTTP), its source name in ProxyFacts, and how to exempt the metadata
  // server from it. Empty on an OS without one.
  std::string systemProxySource;
  std::string exemptFromSystemProxy;
  // Google's guest agent on this OS, which writes the mTLS and workload credentials.
  std::string guestAgent;        // its service name
  std::string guestAgentStatus;  // command showing whether it runs
  std::string guestAgentLog;     // command showing its log
  // Time synchronisation.
  std::string checkClock;
  // Service-proxy (Traffic Director / Envoy sidecar) VMs. {admin} is the Envoy admin
  // address (host:port), {host} and {port} the control plane's.
  std::string envoyLog;          // where Envoy writes its errors on this OS
  std::string envoyAdminQuery;   // commands reading Envoy's readiness and configuration
  std::string listNatRules;      // commands listing the nat interception rules
  std::string checkNameAndPort;  // commands checking {host} resolves and {host}:{port} connects
};

// The table for this OS.
const FixHints& fixHints();

// `text` with each {name} of `values` replaced by its value; unknown placeholders stay.
std::string fillHint(std::string_view text,
                     const std::vector<std::pair<std::string_view, std::string>>& values);

}  // namespace guestpulse::platform
