// The DNS servers Windows asks, per adapter, as `ipconfig /all` lists them.

// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
// clang-format on
// objbase.h defines `interface` as a macro; RouteFacts has a member of that name.
#undef interface

#include <algorithm>
#include <vector>

#include "platform/windows/inspector_parts.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform::win {

namespace {

std::string addressText(const SOCKET_ADDRESS& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (!address.lpSockaddr) return {};
  if (address.lpSockaddr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address.lpSockaddr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
  } else if (address.lpSockaddr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.lpSockaddr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
  }
  return text;
}

}  // namespace

ResolverFacts adapterDnsServers() {
  ResolverFacts facts;
  facts.source = "adapter DNS settings";
  const ULONG flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_UNICAST;
  std::vector<unsigned char> buffer(16 * 1024);
  ULONG size = static_cast<ULONG>(buffer.size());
  ULONG rc = ERROR_BUFFER_OVERFLOW;
  for (int i = 0; i < 4 && rc == ERROR_BUFFER_OVERFLOW; ++i) {
    rc = ::GetAdaptersAddresses(AF_UNSPEC, flags, nullptr,
                                reinterpret_cast<IP_ADAPTER_ADDRESSES*>(buffer.data()), &size);
    if (rc == ERROR_BUFFER_OVERFLOW) buffer.resize(size);
  }
  if (rc == ERROR_NO_DATA) {
    facts.readable = true;
    facts.warnings.push_back("no network adapter is configured");
    return facts;
  }
  if (rc != NO_ERROR) {
    facts.error = "GetAdaptersAddresses: " + errorText(rc);
    return facts;
  }
  facts.readable = true;
  std::vector<std::string> adapters;
  for (auto* a = reinterpret_cast<IP_ADAPTER_ADDRESSES*>(buffer.data()); a; a = a->Next) {
    if (a->IfType == IF_TYPE_SOFTWARE_LOOPBACK || a->OperStatus != IfOperStatusUp) continue;
    std::string name = a->FriendlyName ? toUtf8(a->FriendlyName) : std::string(a->AdapterName);
    std::vector<std::string> servers;
    for (auto* s = a->FirstDnsServerAddress; s; s = s->Next) {
      std::string text = addressText(s->Address);
      if (text.empty()) continue;
      servers.push_back(text);
      if (std::find(facts.nameservers.begin(), facts.nameservers.end(), text) ==
          facts.nameservers.end())
        facts.nameservers.push_back(text);
    }
    std::string summary = name + " [" + std::to_string(a->IfIndex) + "]";
    if (servers.empty()) summary += " (no DNS server)";
    adapters.push_back(summary);
    if (a->DnsSuffix && *a->DnsSuffix) {
      std::string suffix = toUtf8(a->DnsSuffix);
      if (std::find(facts.search.begin(), facts.search.end(), suffix) == facts.search.end())
        facts.search.push_back(suffix);
    }
  }
  if (!adapters.empty()) {
    facts.source += " (";
    for (std::size_t i = 0; i < adapters.size(); ++i) facts.source += (i ? "; " : "") + adapters[i];
    facts.source += ")";
  }
  return facts;
}

}  // namespace guestpulse::platform::win
