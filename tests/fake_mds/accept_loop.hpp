#pragma once
// The accept loop both of the fake's listeners (plain and TLS) run.

#include <chrono>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace guestpulse::fake {

// Accepts connections on `acceptor` until `stopped()` holds or the acceptor is closed,
// handing each socket (with TCP_NODELAY) to `serve`. Other accept errors (out of
// descriptors and the like) pause the loop for 50 ms instead of letting it spin.
template <class Stopped, class Serve>
boost::asio::awaitable<void> acceptConnections(boost::asio::ip::tcp::acceptor& acceptor,
                                               Stopped stopped, Serve serve) {
  namespace asio = boost::asio;
  asio::steady_timer backoff(acceptor.get_executor());
  while (!stopped()) {
    boost::system::error_code ec;
    asio::ip::tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    serve(std::move(socket));
  }
}

}  // namespace guestpulse::fake
