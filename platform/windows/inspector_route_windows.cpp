// The route to an IPv4 address as Windows chooses it (GetBestRoute2, what `route print`
// and `Find-NetRoute` show). Local only: no packet leaves.
//
// IP Helper calls answer from the stack's tables at once; unlike the Linux netlink query
// they take no timeout, and none is needed.

// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <netioapi.h>
// clang-format on
// objbase.h defines `interface` as a macro; RouteFacts has a member of that name.
#undef interface

#include <cstdint>

#include "platform/windows/inspector_parts.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform::win {

namespace {

std::string ipv4Text(const IN_ADDR& address) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &address, text, sizeof text);
  return text;
}

std::string interfaceAlias(const NET_LUID& luid) {
  wchar_t alias[IF_MAX_STRING_SIZE + 1] = {};
  if (::ConvertInterfaceLuidToAlias(&luid, alias, IF_MAX_STRING_SIZE + 1) != NO_ERROR) return {};
  return toUtf8(alias);
}

// The interface index of the IPv4 default route with the lowest metric, or "".
std::string defaultRouteInterface() {
  PMIB_IPFORWARD_TABLE2 table = nullptr;
  if (::GetIpForwardTable2(AF_INET, &table) != NO_ERROR || !table) return {};
  const MIB_IPFORWARD_ROW2* best = nullptr;
  for (ULONG i = 0; i < table->NumEntries; ++i) {
    const MIB_IPFORWARD_ROW2& row = table->Table[i];
    if (row.DestinationPrefix.PrefixLength != 0) continue;
    if (!best || row.Metric < best->Metric) best = &row;
  }
  std::string index = best ? std::to_string(best->InterfaceIndex) : "";
  ::FreeMibTable(table);
  return index;
}

// What GetBestRoute2 does, minus interface metrics: the longest matching prefix, then
// the lowest route metric. Used only where GetBestRoute2 is not implemented (wine 8).
DWORD bestRouteFromTable(const IN_ADDR& destination, MIB_IPFORWARD_ROW2& best) {
  PMIB_IPFORWARD_TABLE2 table = nullptr;
  DWORD rc = ::GetIpForwardTable2(AF_INET, &table);
  if (rc != NO_ERROR || !table) return rc == NO_ERROR ? ERROR_NOT_FOUND : rc;
  const std::uint32_t address = ntohl(destination.S_un.S_addr);
  const MIB_IPFORWARD_ROW2* found = nullptr;
  for (ULONG i = 0; i < table->NumEntries; ++i) {
    const MIB_IPFORWARD_ROW2& row = table->Table[i];
    const unsigned bits = row.DestinationPrefix.PrefixLength;
    if (bits > 32) continue;
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    const std::uint32_t prefix = ntohl(row.DestinationPrefix.Prefix.Ipv4.sin_addr.S_un.S_addr);
    if ((address & mask) != (prefix & mask)) continue;
    if (!found || bits > found->DestinationPrefix.PrefixLength ||
        (bits == found->DestinationPrefix.PrefixLength && row.Metric < found->Metric))
      found = &row;
  }
  if (found) best = *found;
  ::FreeMibTable(table);
  return found ? NO_ERROR : ERROR_NETWORK_UNREACHABLE;
}

}  // namespace

RouteFacts routeTo(const std::string& ipv4) {
  RouteFacts facts;
  facts.destination = ipv4;
  SOCKADDR_INET destination{};
  destination.si_family = AF_INET;
  destination.Ipv4.sin_family = AF_INET;
  if (::inet_pton(AF_INET, ipv4.c_str(), &destination.Ipv4.sin_addr) != 1) {
    facts.status = RouteStatus::LookupFailed;
    facts.error = "'" + ipv4 + "' is not an IPv4 address";
    return facts;
  }
  MIB_IPFORWARD_ROW2 row{};
  SOCKADDR_INET source{};
  DWORD rc = ::GetBestRoute2(nullptr, 0, nullptr, &destination, 0, &row, &source);
  if (rc == ERROR_NOT_SUPPORTED) {
    source = {};
    rc = bestRouteFromTable(destination.Ipv4.sin_addr, row);
  }
  if (rc != NO_ERROR) {
    facts.error = errorText(rc);
    switch (rc) {
      case ERROR_NETWORK_UNREACHABLE:
      case ERROR_HOST_UNREACHABLE:
      case ERROR_NOT_FOUND:
        facts.status = RouteStatus::NoRoute;
        facts.defaultRouteInterface = defaultRouteInterface();
        break;
      default:
        facts.status = RouteStatus::LookupFailed;
        facts.error = "GetBestRoute2: " + facts.error;
    }
    return facts;
  }
  facts.status = RouteStatus::Found;
  // "Ethernet (if 4)": the alias for people, the index for `route ... if <index>`.
  const std::string alias = interfaceAlias(row.InterfaceLuid);
  const std::string index = std::to_string(row.InterfaceIndex);
  facts.interface = alias.empty() ? "if " + index : alias + " (if " + index + ")";
  const IN_ADDR& nextHop = row.NextHop.Ipv4.sin_addr;
  facts.directlyConnected = nextHop.S_un.S_addr == 0;
  if (!facts.directlyConnected) facts.gateway = ipv4Text(nextHop);
  if (source.si_family == AF_INET) facts.source = ipv4Text(source.Ipv4.sin_addr);
  facts.local = row.Protocol == MIB_IPPROTO_LOCAL && facts.source == ipv4;
  return facts;
}

}  // namespace guestpulse::platform::win
