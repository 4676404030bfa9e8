#pragma once
// Internal to agent/net: the steps of one HTTP exchange, written once for any stream
// (plain TCP or TLS over it). Every step sets its deadline from one overall budget.

#include <algorithm>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "agent/net/http_client.hpp"

#ifndef GUESTPULSE_VERSION
#define GUESTPULSE_VERSION "dev"
#endif

namespace guestpulse {

class ExchangeClock {
 public:
  explicit ExchangeClock(Duration budget)
      : start_(SteadyClock::now()), deadline_(start_ + budget) {}
  Duration remaining() const {
    auto left = std::chrono::duration_cast<Duration>(deadline_ - SteadyClock::now());
    return std::max(left, Duration(1));
  }
  Duration elapsed() const {
    return std::chrono::duration_cast<Duration>(SteadyClock::now() - start_);
  }

 private:
  SteadyTime start_;
  SteadyTime deadline_;
};

inline void recordFailure(HttpResult& result, HttpStep step, boost::system::error_code ec,
                          const ExchangeClock& clock) {
  result.failedStep = step;
  result.error = ec;
  result.timedOut = ec == boost::beast::error::timeout || ec == boost::asio::error::timed_out;
  result.elapsed = clock.elapsed();
}

// Connects `stream` to the first endpoint that accepts. Returns false (and fills
// result) on failure. Defined in http_client.cpp: an inline coroutine would give each
// translation unit its own frame type, which LTO reports as an ODR violation.
boost::asio::awaitable<bool> connectStream(
    boost::beast::tcp_stream& stream, const std::vector<boost::asio::ip::tcp::endpoint>& endpoints,
    const ExchangeClock& clock, HttpResult& result);

// Reads a response whose body goes to req.bodySink (see HttpRequest), piece by piece.
template <class Stream>
boost::asio::awaitable<void> readStreamed(Stream& stream, const HttpRequest& req,
                                          const ExchangeClock& clock, HttpResult& result) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);  // bodyLimit is applied below, as a cut, not an error
  beast::get_lowest_layer(stream).expires_after(clock.remaining());
  auto [headerError, headerBytes] =
      co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (headerError) {
    recordFailure(result, HttpStep::Read, headerError, clock);
    co_return;
  }
  HttpResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.reason = std::string(parser.get().reason());
  for (const auto& field : parser.get())
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  char piece[16384];
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof piece;
    beast::get_lowest_layer(stream).expires_after(clock.remaining());
    auto [ec, n] =
        co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t got = sizeof piece - parser.get().body().size;
    const std::size_t take = std::min(got, req.bodyLimit - out.bodyBytes);
    if (take > 0) {
      out.bodyBytes += take;
      if (!req.bodySink(std::string_view(piece, take))) {
        out.bodyStopped = !parser.is_done();
        break;
      }
    }
    if (take < got || (out.bodyBytes >= req.bodyLimit && !parser.is_done())) {
      out.bodyTruncated = true;
      break;
    }
    if (ec) {
      recordFailure(result, HttpStep::Read, ec, clock);
      co_return;
    }
  }
  result.response = std::move(out);
  result.elapsed = clock.elapsed();
  beast::get_lowest_layer(stream).expires_never();
}

// Writes the request and reads the response over an already connected stream.
template <class Stream>
boost::asio::awaitable<void> exchangeOver(Stream& stream, const HttpRequest& req,
                                          const ExchangeClock& clock, HttpResult& result) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;

  http::request<http::string_body> message;
  message.method_string(req.method);
  message.target(req.target);
  message.version(11);
  std::string hostHeader = req.tls && !req.tlsServerName.empty() ? req.tlsServerName : req.host;
  bool defaultPort = (req.tls && req.port == 443) || (!req.tls && req.port == 80);
  if (!defaultPort) hostHeader += ":" + std::to_string(req.port);
  message.set(http::field::host, hostHeader);
  message.set(http::field::user_agent, "guestpulse/" GUESTPULSE_VERSION);
  message.set(http::field::connection, "close");
  for (const auto& [name, value] : req.headers) message.set(name, value);
  message.body() = req.body;
  if (!req.body.empty() || req.method == "PUT" || req.method == "POST") message.prepare_payload();

  beast::get_lowest_layer(stream).expires_after(clock.remaining());
  auto [writeError, written] =
      co_await http::async_write(stream, message, asio::as_tuple(asio::use_awaitable));
  if (writeError) {
    recordFailure(result, HttpStep::Write, writeError, clock);
    co_return;
  }

  if (req.bodySink) {
    co_await readStreamed(stream, req, clock, result);
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(req.bodyLimit);
  parser.header_limit(static_cast<std::uint32_t>(kHttpHeaderLimit));
  if (req.method == "HEAD") parser.skip(true);
  beast::get_lowest_layer(stream).expires_after(clock.remaining());
  auto [readError, read] =
      co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (readError) {
    recordFailure(result, HttpStep::Read, readError, clock);
    if (parser.is_header_done()) {
      result.answerStatus = static_cast<int>(parser.get().result_int());
      if (auto length = parser.content_length()) result.declaredLength = *length;
      auto location = parser.get().find(http::field::location);
      if (location != parser.get().end()) result.location = std::string(location->value());
    }
    result.bodyBytes = parser.get().body().size();
    result.classifyReadError(req.bodyLimit, kHttpHeaderLimit);
    co_return;
  }
  auto& response = parser.get();
  HttpResponse out;
  out.status = static_cast<int>(response.result_int());
  out.reason = std::string(response.reason());
  for (const auto& field : response)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(response.body());
  result.response = std::move(out);
  result.elapsed = clock.elapsed();
  beast::get_lowest_layer(stream).expires_never();
}

// Defined in tls_client.cpp so the OpenSSL templates compile in one place.
boost::asio::awaitable<HttpResult> exchangeTls(
    boost::asio::any_io_executor executor, HttpRequest req,
    std::vector<boost::asio::ip::tcp::endpoint> endpoints, ExchangeClock clock,
    TlsContextProvider* tls, HttpResult result);

}  // namespace guestpulse
