#pragma once
// How every component compares host names and recognises address literals, so the hosts
// file, the resolver and the proxy rules agree: names case-insensitively without the
// trailing root dot, addresses as addresses ("::1" equals "0:0::1"). No OS header; never
// throws.

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace guestpulse::platform {

// "Metadata.Google.Internal." -> "metadata.google.internal".
std::string normalizeHostName(std::string_view name);

// An IPv4 or IPv6 address literal (no brackets, no port, no prefix), or nullopt.
std::optional<boost::asio::ip::address> parseIpAddress(std::string_view text);

bool isIpv4Address(std::string_view text);
bool isIpv6Address(std::string_view text);

}  // namespace guestpulse::platform
