#pragma once
// The GCE metadata server client. Every call:
//  - goes to the configured endpoint (GCE_METADATA_HOST already applied by the config),
//  - sends `Metadata-Flavor: Google` and checks the answer carries it back: a response
//    without it did not come from the metadata server (a proxy answered),
//  - retries per RetryPolicy (5xx, 429, 408, transport errors; never other 4xx) within
//    its attempt budget, waiting with full jitter between attempts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "agent/core/random.hpp"
#include "agent/core/retry_policy.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "agent/metadata/retrying_call.hpp"
#include "agent/net/http_client.hpp"

namespace guestpulse {

struct MetadataEndpoint {
  bool tls = false;
  std::string host = "169.254.169.254";
  std::uint16_t port = 80;
  // Parses "http://host[:port]" / "https://host[:port]" (IPv6 in brackets).
  static std::optional<MetadataEndpoint> parse(const std::string& url);
  std::string display() const;  // "169.254.169.254:80"
};

inline constexpr const char* kGceMetadataPrefix = "/computeMetadata/v1/";

class MetadataClient {
 public:
  MetadataClient(HttpClient& http, MetadataEndpoint endpoint, Duration timeout, RetrySettings retry,
                 UnitRandom random);

  // `path` is relative to /computeMetadata/v1/ (e.g. "instance/id") unless it starts
  // with '/'. `attempts` 0 means the configured budget.
  boost::asio::awaitable<MetadataResult> get(std::string path, int attempts = 0);
  boost::asio::awaitable<MetadataResult> put(std::string path, std::string body, int attempts = 0);

  const MetadataEndpoint& endpoint() const { return endpoint_; }
  const RetrySettings& retrySettings() const { return retry_; }
  Duration timeout() const { return timeout_; }
  const MetadataCounters& counters() const { return counters_; }
  void setTlsContext(TlsContextProvider* tls) { tls_ = tls; }

 private:
  boost::asio::awaitable<MetadataResult> call(std::string method, std::string path,
                                              std::string body, int attempts);

  HttpClient& http_;
  MetadataEndpoint endpoint_;
  Duration timeout_;
  RetrySettings retry_;
  UnitRandom random_;
  TlsContextProvider* tls_ = nullptr;
  MetadataCounters counters_;
};

}  // namespace guestpulse
