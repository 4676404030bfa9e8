#include "platform/linux/socket_table.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "platform/common/text_fields.hpp"

namespace guestpulse::platform {

namespace {

constexpr std::string_view kListen = "0A";  // TCP_LISTEN in the "st" column

template <class T>
bool parseHex(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc() && end == text.data() + text.size();
}

// The kernel prints each 32-bit word of the address as a native-endian number, so the
// bytes of those words in memory are the address in network order.
bool addressText(std::string_view hex, bool ipv6, std::string& out) {
  const std::size_t words = ipv6 ? 4 : 1;
  if (hex.size() != words * 8) return false;
  unsigned char bytes[16];
  for (std::size_t i = 0; i < words; ++i) {
    std::uint32_t word = 0;
    if (!parseHex(hex.substr(i * 8, 8), word)) return false;
    std::memcpy(bytes + i * 4, &word, 4);
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (!::inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, text, sizeof text)) return false;
  out = text;
  return true;
}

}  // namespace

std::vector<ListeningSocket> parseListeningSockets(std::string_view text, bool ipv6) {
  std::vector<ListeningSocket> sockets;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.find('\n', pos), text.size());
    std::vector<std::string_view> fields = splitFields(text.substr(pos, end - pos));
    pos = end + 1;
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
    if (fields.size() < 8 || fields[3] != kListen) continue;
    std::string_view local = fields[1];
    std::size_t colon = local.find(':');
    ListeningSocket socket;
    if (colon == std::string_view::npos || !parseHex(local.substr(colon + 1), socket.port) ||
        !addressText(local.substr(0, colon), ipv6, socket.address))
      continue;
    auto [uidEnd, ec] =
        std::from_chars(fields[7].data(), fields[7].data() + fields[7].size(), socket.uid);
    if (ec != std::errc() || uidEnd != fields[7].data() + fields[7].size()) continue;
    sockets.push_back(std::move(socket));
  }
  return sockets;
}

}  // namespace guestpulse::platform
