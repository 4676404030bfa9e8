#pragma once
// Listening TCP sockets and their owners, from the kernel's socket tables
// (/proc/net/tcp and /proc/net/tcp6, proc(5)), parsed without I/O. The service-proxy
// diagnosis learns the proxy's uid from the socket its admin interface listens on.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace guestpulse::platform {

struct ListeningSocket {
  std::string address;  // "127.0.0.1", "::" (the kernel's hex turned into text)
  std::uint16_t port = 0;
  std::uint32_t uid = 0;
};

// The sockets in state LISTEN of one table's text; `ipv6` for tcp6. Lines that do not
// parse are skipped.
std::vector<ListeningSocket> parseListeningSockets(std::string_view text, bool ipv6);

}  // namespace guestpulse::platform
