#pragma once
// One TCP connection attempt with a deadline, and nothing sent: "does host:port accept a
// connection from here?". The result is a plain value the diagnosis reads.

#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "agent/core/duration.hpp"

namespace guestpulse {

struct TcpConnectResult {
  std::string peer;  // "199.36.153.8:443": the address connected to, or tried last
  boost::system::error_code error;
  bool timedOut = false;
  Duration elapsed{0};

  bool ok() const { return !error && !timedOut; }
  // "199.36.153.8:443: Connection refused", "...: timeout after 5s", "...: connected in 12ms"
  std::string describe() const;
};

// Tries `addresses` (IP literals) in order on `port` until one accepts, within `timeout`
// for all of them; closes the connection at once.
boost::asio::awaitable<TcpConnectResult> connectTcp(std::vector<std::string> addresses,
                                                    std::uint16_t port, Duration timeout);

}  // namespace guestpulse
