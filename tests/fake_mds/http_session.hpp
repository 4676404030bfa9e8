#pragma once
// One HTTP/1.1 connection of the fake: reads requests in a loop (keep-alive), applies
// faults, answers through the ProviderApi / ControlApi, and implements wait_for_change.
//
// Templated on the stream so that the later HTTPS listener (client-certificate
// verification) runs the very same session over an ssl_stream after its handshake; only
// the lowest layer (a beast::tcp_stream) is used directly, for deadlines, RST and hang.
// Lives on the server's io_context thread; included only by server.cpp.

#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "tests/fake_mds/exchange.hpp"
#include "tests/fake_mds/server.hpp"

namespace guestpulse::fake {

template <class Stream>
class HttpSession final : public SessionBase {
 public:
  HttpSession(Server& server, Stream stream)
      : server_(server), stream_(std::move(stream)), timer_(stream_.get_executor()) {
    server_.addSession(this);
  }
  ~HttpSession() override { server_.removeSession(this); }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  boost::asio::awaitable<void> run();

  void abort() override {
    aborted_ = true;
    timer_.cancel();
    boost::system::error_code ec;
    lowest().socket().close(ec);
  }
  void wake() override { timer_.cancel(); }

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  auto& lowest() { return boost::beast::get_lowest_layer(stream_); }

  // Reads one request; nullopt when the connection is done (EOF, timeout, malformed —
  // the last one already answered with 400).
  boost::asio::awaitable<std::optional<Request>> readRequest(bool& keepAlive);
  boost::asio::awaitable<void> answerMalformed(const Parser& parser);
  // Returns false when the connection must be closed.
  boost::asio::awaitable<bool> serve(const Request& request, bool keepAlive);
  boost::asio::awaitable<void> waitForChange(const Request& request, Reply& reply,
                                             const ProviderApi::WaitRequest& wait);
  boost::asio::awaitable<bool> write(const Request* request, const Reply& reply, bool keepAlive,
                                     bool noFlavor);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay);
  boost::asio::awaitable<void> hang();
  // Sets the socket's IP TTL (IPv6: unicast hops); returns the value it now has, 0 when
  // it could not be set.
  int limitHops(int hops);
  void reset();
  boost::asio::awaitable<void> closeGracefully();

  Server& server_;
  Stream stream_;
  boost::asio::steady_timer timer_;  // latency, wait_for_change; cancelled by wake/abort
  boost::beast::flat_buffer buffer_;
  bool aborted_ = false;
};

}  // namespace guestpulse::fake
