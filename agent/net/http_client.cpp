#include "agent/net/http_client.hpp"

#include <algorithm>
#include <cctype>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_exchange.hpp"

namespace guestpulse {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct ResolveOutcome {
  boost::system::error_code error;
  std::vector<tcp::endpoint> endpoints;
};

ResolveOutcome resolveBlocking(const std::string& host, std::uint16_t port) {
  // A private io_context: the synchronous resolver only needs it as an executor.
  asio::io_context local;
  tcp::resolver resolver(local);
  ResolveOutcome outcome;
  auto results = resolver.resolve(host, std::to_string(port), outcome.error);
  if (!outcome.error)
    for (const auto& entry : results) outcome.endpoints.push_back(entry.endpoint());
  return outcome;
}

}  // namespace

asio::awaitable<bool> connectStream(beast::tcp_stream& stream,
                                    const std::vector<tcp::endpoint>& endpoints,
                                    const ExchangeClock& clock, HttpResult& result) {
  stream.expires_after(clock.remaining());
  auto [ec, endpoint] =
      co_await stream.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
  const auto& peerEndpoint = ec ? endpoints.back() : endpoint;
  result.peer = peerEndpoint.address().to_string() + ":" + std::to_string(peerEndpoint.port());
  if (ec) {
    recordFailure(result, HttpStep::Connect, ec, clock);
    co_return false;
  }
  co_return true;
}

HttpClient::HttpClient(asio::any_io_executor executor, BlockingPool& pool)
    : executor_(std::move(executor)), pool_(pool) {}

HttpClient::~HttpClient() = default;

asio::awaitable<HttpClient::Resolved> HttpClient::resolve(const std::string& host,
                                                          std::uint16_t port,
                                                          const ExchangeClock& clock,
                                                          HttpResult& result) {
  Resolved endpoints;
  boost::system::error_code literalError;
  auto literal = asio::ip::make_address(host, literalError);
  if (!literalError) {
    endpoints.emplace_back(literal, port);
  } else {
    std::function<ResolveOutcome()> lookup = [host, port] { return resolveBlocking(host, port); };
    std::optional<ResolveOutcome> resolved =
        co_await pool_.run<ResolveOutcome>(lookup, clock.remaining());
    if (!resolved) {
      result.failedStep = HttpStep::Resolve;
      result.timedOut = true;
      result.error = asio::error::timed_out;
      result.elapsed = clock.elapsed();
      co_return endpoints;
    }
    if (resolved->error || resolved->endpoints.empty()) {
      result.failedStep = HttpStep::Resolve;
      result.error = resolved->error ? resolved->error : asio::error::host_not_found;
      result.elapsed = clock.elapsed();
      co_return endpoints;
    }
    endpoints = std::move(resolved->endpoints);
  }
  for (const auto& ep : endpoints) result.resolvedAddresses.push_back(ep.address().to_string());
  co_return endpoints;
}

asio::awaitable<HttpResult> HttpClient::request(HttpRequest req, Duration timeout,
                                                TlsContextProvider* tls) {
  ExchangeClock clock(timeout);
  HttpResult result;
  std::vector<tcp::endpoint> endpoints = co_await resolve(req.host, req.port, clock, result);
  if (endpoints.empty()) co_return result;

  if (req.tls) {
    co_return co_await exchangeTls(executor_, std::move(req), std::move(endpoints), clock, tls,
                                   std::move(result));
  }

  beast::tcp_stream stream(executor_);
  if (!co_await connectStream(stream, endpoints, clock, result)) co_return result;
  co_await exchangeOver(stream, req, clock, result);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return result;
}

asio::awaitable<HttpResult> HttpClient::connectOnly(std::string host, std::uint16_t port,
                                                    Duration timeout) {
  ExchangeClock clock(timeout);
  HttpResult result;
  std::vector<tcp::endpoint> endpoints = co_await resolve(host, port, clock, result);
  if (endpoints.empty()) co_return result;
  beast::tcp_stream stream(executor_);
  if (!co_await connectStream(stream, endpoints, clock, result)) co_return result;
  result.elapsed = clock.elapsed();
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return result;
}

}  // namespace guestpulse
