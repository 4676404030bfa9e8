#pragma once
// A deliberately plain HTTP/1.1 client for the metadata server and HTTP probes.
//
// Contract:
//  - one connection per request (metadata calls are rare; a fresh connection makes every
//    step observable for diagnosis);
//  - a deadline on every step (resolve, connect, TLS handshake, write, read) taken from
//    one overall timeout; a timeout is reported as such, naming the step;
//  - never a proxy, whatever http_proxy says: metadata traffic must go direct;
//  - never follows redirects: a 3xx is returned as it is;
//  - the response body is capped (bodyLimit) and so is its header (kHttpHeaderLimit); a
//    larger one is an error that says which limit it passed (HttpResult::answerProblem),
//    unless the body is streamed to a sink (bodySink), which reads at most bodyLimit bytes
//    and says so;
//  - never throws: every failure is a value in HttpResult.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "agent/core/duration.hpp"
#include "agent/net/http_result.hpp"

namespace guestpulse {

class BlockingPool;
class ExchangeClock;
class TlsContextProvider;

inline constexpr std::size_t kHttpHeaderLimit = 8 * 1024;  // status line and every field

struct HttpRequest {
  std::string method = "GET";
  std::string host;  // name or address literal
  std::uint16_t port = 80;
  std::string target = "/";
  HttpHeaders headers;  // sent as given (Host and User-Agent are added)
  std::string body;
  bool tls = false;
  std::string tlsServerName;  // SNI and the name verified; defaults to host
  std::size_t bodyLimit = 64 * 1024;
  // Streams the response body instead of keeping it: each piece goes to the sink as it
  // arrives (response.body stays empty), and the sink returns false to stop reading there.
  // At most bodyLimit bytes are read; a longer body ends the exchange with what was read
  // and response.bodyTruncated, not with an error. Memory stays at one piece (16 KiB).
  std::function<bool(std::string_view)> bodySink;
};

class HttpClient {
 public:
  // `pool` runs name resolution so a hung resolver cannot stall the loop.
  HttpClient(boost::asio::any_io_executor executor, BlockingPool& pool);
  ~HttpClient();

  boost::asio::awaitable<HttpResult> request(HttpRequest request, Duration timeout,
                                             TlsContextProvider* tls = nullptr);

  // A TCP connection only, closed at once without sending anything: can host:port be
  // reached at all? Resolve and connect share `timeout`; the result has no response, and
  // failedStep None (with peer set) when the connection was accepted.
  boost::asio::awaitable<HttpResult> connectOnly(std::string host, std::uint16_t port,
                                                 Duration timeout);

 private:
  using Resolved = std::vector<boost::asio::ip::tcp::endpoint>;
  // The addresses to dial: the literal itself, or the name resolved on the pool within
  // the clock's budget. Empty (with result's failure filled) when resolution failed.
  boost::asio::awaitable<Resolved> resolve(const std::string& host, std::uint16_t port,
                                           const ExchangeClock& clock, HttpResult& result);

  boost::asio::any_io_executor executor_;
  BlockingPool& pool_;
};

}  // namespace guestpulse
