#include "agent/net/tcp_connect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace guestpulse {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string endpointText(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
         std::to_string(endpoint.port());
}

}  // namespace

std::string TcpConnectResult::describe() const {
  if (timedOut) return peer + ": timeout after " + formatDuration(elapsed);
  if (error) return peer + ": " + error.message();
  return peer + ": connected in " + formatDuration(elapsed);
}

asio::awaitable<TcpConnectResult> connectTcp(std::vector<std::string> addresses, std::uint16_t port,
                                             Duration timeout) {
  TcpConnectResult result;
  const SteadyTime start = SteadyClock::now();
  std::vector<tcp::endpoint> endpoints;
  for (const auto& text : addresses) {
    boost::system::error_code bad;
    auto address = asio::ip::make_address(text, bad);
    if (!bad) endpoints.emplace_back(address, port);
  }
  if (endpoints.empty()) {
    result.error = asio::error::host_not_found;
    co_return result;
  }
  boost::beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(timeout);
  auto [ec, connected] =
      co_await stream.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
  result.elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
  result.peer = endpointText(ec ? endpoints.back() : connected);
  result.timedOut = ec == boost::beast::error::timeout || ec == asio::error::timed_out;
  if (!result.timedOut) result.error = ec;
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
  co_return result;
}

}  // namespace guestpulse
