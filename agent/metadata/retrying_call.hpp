#pragma once
// One call to a metadata server, retried per RetryPolicy: the loop every metadata caller
// shares (MetadataClient for plain HTTP, the mTLS probe for HTTPS with a client
// certificate, the EC2 and Azure clients).
//
// Each attempt is one request with its own timeout. After it:
//  - a 2xx answer ends the call;
//  - an answer without the server's signature header (GCE: Metadata-Flavor: Google) did
//    not come from the metadata server (a proxy answered): retrying will not change that,
//    so it ends the call too;
//  - an outcome `isFinal` says is final (the mTLS probe: a TLS failure; a certificate
//    problem does not go away in a second) ends the call;
//  - otherwise the policy decides: 5xx, 429, 408 and transport failures wait with full
//    jitter and try again while the attempt budget lasts, and so do the statuses the
//    provider documents as transient for this request (`transientStatuses`: Azure's 404
//    and 410 while IMDS is updated); other answers end the call.
// A cancelled wait (the caller's deadline, shutdown) ends the call with what it has.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "agent/core/random.hpp"
#include "agent/core/retry_policy.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "agent/net/http_client.hpp"

namespace guestpulse {

struct MetadataCounters {
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  std::uint64_t transportErrors = 0;
};

struct RetryingCall {
  HttpRequest request;
  Duration timeout{std::chrono::seconds(2)};  // per attempt
  RetrySettings retry;                        // retry.attempts is the budget
  // The header the real server answers with; nullopt when it has none.
  std::optional<std::pair<std::string, std::string>> signature;
  std::function<bool(const HttpResult&)> isFinal;  // optional
  std::vector<int> transientStatuses;              // retried as well as RetryPolicy's
  TlsContextProvider* tls = nullptr;
  MetadataCounters* counters = nullptr;  // optional
};

boost::asio::awaitable<MetadataResult> callWithRetries(HttpClient& http, RetryingCall call,
                                                       UnitRandom random);

}  // namespace guestpulse
