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
//  - the response body is capped (bodyLimit); a larger body is an error;
//  - never throws: every failure is a value in HttpResult.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "agent/core/duration.hpp"

namespace guestpulse {

class BlockingPool;
class TlsContextProvider;

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

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
};

enum class HttpStep { None, Resolve, Connect, Handshake, Write, Read };
std::string_view toString(HttpStep step);  // "resolve", "connect", ...

struct HttpResponse {
  int status = 0;
  std::string reason;
  HttpHeaders headers;
  std::string body;
  // Case-insensitive header lookup; nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
};

struct HttpResult {
  std::optional<HttpResponse> response;  // set when a complete response was read
  HttpStep failedStep = HttpStep::None;
  boost::system::error_code error;  // the failure of failedStep
  bool timedOut = false;            // failedStep ran out of time
  std::string peer;                 // address:port connected (or tried last)
  std::vector<std::string> resolvedAddresses;
  Duration elapsed{0};
  // For TLS failures: OpenSSL's verify result text and the library error, if any.
  std::string tlsDetail;
  long tlsVerifyResult = 0;  // the peer chain's X509_V_ERR_* (0 = verified or not checked)

  bool ok() const { return response.has_value(); }
  // "connect to 169.254.169.254:80: Connection refused", "read from ...: timeout after 2s"
  std::string describe(std::string_view target) const;
};

class HttpClient {
 public:
  // `pool` runs name resolution so a hung resolver cannot stall the loop.
  HttpClient(boost::asio::any_io_executor executor, BlockingPool& pool);
  ~HttpClient();

  boost::asio::awaitable<HttpResult> request(HttpRequest request, Duration timeout,
                                             TlsContextProvider* tls = nullptr);

 private:
  boost::asio::any_io_executor executor_;
  BlockingPool& pool_;
};

}  // namespace guestpulse
