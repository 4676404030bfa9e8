// The fix words on Linux: glibc's files, iproute2, iptables/nft, systemd's tools.

#include "platform/fix_hints.hpp"

namespace guestpulse::platform {

const FixHints& fixHints() {
  static const FixHints hints = [] {
    FixHints h;
    h.hostsFile = "/etc/hosts";
    h.resolverConfig = "the resolver (resolv.conf)";
    h.hostsFileIgnored =
        "the system resolver skips the hosts file: check the 'hosts:' line of "
        "/etc/nsswitch.conf lists 'files'";
    h.restoreNameserver =
        "restore 'nameserver {address}' (GCE hands it out by DHCP): check the DHCP client, "
        "NetworkManager or netplan DNS settings";
    h.restoreNameserverBehindStub = h.restoreNameserver + " and 'resolvectl dns'";
    h.showRoute = "ip route get {address}";
    h.restoreRoute =
        "restore the route to the metadata server (ip route get {address}; it normally goes "
        "via the primary NIC's gateway or on-link)";
    h.listBlockRules = "iptables -S OUTPUT; nft list ruleset";
    h.findRejectRule = "list it with 'iptables -S OUTPUT | grep {address}' (or 'nft list ruleset')";
    h.listRedirects = "check 'iptables -t nat -S OUTPUT'";
    h.listRewrites = "iptables -t mangle -S";
    h.findClients = "ss -tnp dst {address}";
    h.guestAgent = "google-guest-agent";
    h.guestAgentStatus = "systemctl status google-guest-agent";
    h.guestAgentLog = "journalctl -u google-guest-agent";
    h.checkClock = "timedatectl; chronyc tracking";
    h.envoyLog = "/var/log/envoy/envoy.err.log";
    h.envoyAdminQuery = "curl -s http://{admin}/ready; curl -s http://{admin}/config_dump";
    h.listNatRules = "iptables -t nat -S; nft list ruleset";
    h.checkNameAndPort = "getent hosts {host}; nc -zv -w 5 {host} {port}";
    return h;
  }();
  return hints;
}

}  // namespace guestpulse::platform
