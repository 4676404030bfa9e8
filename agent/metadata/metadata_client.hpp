#pragma once
// The metadata server client, in the flavor of one provider (GCE by default). Every call:
//  - goes to the configured endpoint (GCE_METADATA_HOST or AWS_EC2_METADATA_SERVICE_ENDPOINT
//    already applied by the config),
//  - sends the provider's request headers (GCE: `Metadata-Flavor: Google`; Azure:
//    `Metadata: true`; EC2: none, its token is per call) and, where the provider has one,
//    checks the answer carries the server's signature back (GCE: `Metadata-Flavor:
//    Google`): a response without it did not come from the metadata server (a proxy),
//  - retries per RetryPolicy (5xx, 429, 408, transport errors; never other 4xx, except
//    the provider's documented transient ones) within its attempt budget, waiting with
//    full jitter between attempts.
// One client's counters count every request any of its callers made.

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

// What one provider's metadata server expects and answers, on the wire.
struct MetadataFlavor {
  std::string prefix = kGceMetadataPrefix;  // prepended to a path without a leading '/'
  HttpHeaders headers = {{"Metadata-Flavor", "Google"}};
  std::optional<std::pair<std::string, std::string>> signature =
      std::make_pair(std::string("Metadata-Flavor"), std::string("Google"));
  std::vector<int> transientStatuses;  // 4xx the provider documents as "retry later"

  static MetadataFlavor gce() { return {}; }
  // /latest/, no fixed header (the IMDSv2 token goes with each call), no signature.
  static MetadataFlavor ec2();
  // /metadata/, `Metadata: true`, no signature; 404 and 410 while IMDS is updated.
  static MetadataFlavor azure();
};

class MetadataClient {
 public:
  MetadataClient(HttpClient& http, MetadataEndpoint endpoint, Duration timeout, RetrySettings retry,
                 UnitRandom random, MetadataFlavor flavor = MetadataFlavor::gce());

  // `path` is relative to the flavor's prefix (GCE: /computeMetadata/v1/, e.g.
  // "instance/id") unless it starts with '/'. `attempts` 0 means the configured budget.
  // `headers` are sent besides the flavor's.
  boost::asio::awaitable<MetadataResult> get(std::string path, int attempts = 0,
                                             HttpHeaders headers = {});
  boost::asio::awaitable<MetadataResult> put(std::string path, std::string body, int attempts = 0,
                                             HttpHeaders headers = {});

  const MetadataEndpoint& endpoint() const { return endpoint_; }
  const MetadataFlavor& flavor() const { return flavor_; }
  const RetrySettings& retrySettings() const { return retry_; }
  Duration timeout() const { return timeout_; }
  const MetadataCounters& counters() const { return counters_; }
  void setTlsContext(TlsContextProvider* tls) { tls_ = tls; }

 private:
  boost::asio::awaitable<MetadataResult> call(std::string method, std::string path,
                                              std::string body, int attempts, HttpHeaders headers);

  HttpClient& http_;
  MetadataEndpoint endpoint_;
  Duration timeout_;
  RetrySettings retry_;
  UnitRandom random_;
  MetadataFlavor flavor_;
  TlsContextProvider* tls_ = nullptr;
  MetadataCounters counters_;
};

}  // namespace guestpulse
