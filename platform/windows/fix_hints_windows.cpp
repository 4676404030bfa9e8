// The fix words on Windows: the hosts file under %SystemRoot%, `route print` and
// `route /p add` (a persistent route), Windows Firewall through netsh, the WinHTTP proxy,
// Google's guest agent service (GCEAgent) and w32tm.

#include "platform/fix_hints.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {

namespace {

std::string systemRoot() {
  std::string root = win::environmentVariable(L"SystemRoot");
  return root.empty() ? "C:\\Windows" : root;
}

}  // namespace

const FixHints& fixHints() {
  static const FixHints hints = [] {
    FixHints h;
    h.hostsFile = systemRoot() + "\\System32\\drivers\\etc\\hosts";
    h.resolverConfig = "the network adapters' DNS servers (ipconfig /all)";
    h.hostsFileIgnored =
        "the DNS client does not answer from the hosts file: check that the 'Dnscache' "
        "service runs (Get-Service Dnscache) and flush its cache (ipconfig /flushdns)";
    h.restoreNameserver =
        "restore {address} as the adapter's DNS server (GCE hands it out by DHCP): "
        "Get-DnsClientServerAddress, then Set-DnsClientServerAddress -InterfaceIndex <idx> "
        "-ResetServerAddresses";
    h.restoreNameserverBehindStub = h.restoreNameserver;
    h.showRoute = "route print {address}";
    h.restoreRoute =
        "add the persistent route to the metadata server: route /p add {address} mask "
        "255.255.255.255 0.0.0.0 if {interface} (the interface of the default route, see "
        "'route print 0.0.0.0')";
    h.unknownInterface = "<IF of the 0.0.0.0 route>";
    h.listBlockRules = "netsh advfirewall firewall show rule name=all dir=out";
    h.findRejectRule =
        "find the outbound block rule for {address} with 'netsh advfirewall firewall show rule "
        "name=all dir=out verbose'";
    h.listRedirects =
        "check the WinHTTP proxy (netsh winhttp show proxy) and port proxies (netsh interface "
        "portproxy show all)";
    h.listRewrites = "netsh wfp show filters";
    h.findClients = "netstat -ano | findstr {address}";
    h.systemProxySource = "WinHTTP";
    h.exemptFromSystemProxy =
        "exempt the metadata server from the WinHTTP proxy: netsh winhttp set proxy "
        "proxy-server=\"{proxy}\" bypass-list=\"<local>;{address};{hostname}\" (netsh winhttp "
        "show proxy shows the current bypass list; keep its entries)";
    h.guestAgent = "GCEAgent";
    h.guestAgentStatus = "Get-Service GCEAgent";
    h.guestAgentLog =
        "Get-WinEvent -FilterHashtable @{LogName='Application'; ProviderName='GCEGuestAgent'} "
        "-MaxEvents 50";
    h.checkClock = "w32tm /query /status";
    // Service-proxy (Envoy sidecar) VMs: Google's automated deployment is Linux only, so
    // these name what a hand-made Windows setup would use.
    h.envoyLog = "the log file given to envoy.exe with --log-path";
    h.envoyAdminQuery = "curl.exe -s http://{admin}/ready; curl.exe -s http://{admin}/config_dump";
    h.listNatRules = "netsh interface portproxy show all";
    h.checkNameAndPort = "Test-NetConnection {host} -Port {port}";
    return h;
  }();
  return hints;
}

}  // namespace guestpulse::platform
