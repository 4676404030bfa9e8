#include "platform/common/host_names.hpp"

#include <cctype>

namespace guestpulse::platform {

std::string normalizeHostName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  // Only one trailing dot marks the root; "name.." is not a valid name and stays unequal.
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

namespace {

// Four dotted decimal parts. Windows' address parser (behind Asio there) also takes the
// old short forms ("169.254.169" is 169.254.0.169), which no hosts file or resolver
// configuration means; a typo must stay a typo on every OS.
bool isDottedQuad(std::string_view text) {
  int parts = 0, digits = 0;
  for (char c : text) {
    if (c == '.') {
      if (digits == 0) return false;
      ++parts;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return digits > 0 && parts == 3;
}

}  // namespace

// Parsed through Asio so "::1" and "0:0::1" compare equal without an OS header here.
std::optional<boost::asio::ip::address> parseIpAddress(std::string_view text) {
  if (text.find(':') == std::string_view::npos && !isDottedQuad(text)) return std::nullopt;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return address;
}

bool isIpv4Address(std::string_view text) {
  auto address = parseIpAddress(text);
  return address && address->is_v4();
}

bool isIpv6Address(std::string_view text) {
  auto address = parseIpAddress(text);
  return address && address->is_v6();
}

}  // namespace guestpulse::platform
