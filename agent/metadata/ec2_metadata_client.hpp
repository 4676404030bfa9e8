#pragma once
// EC2's instance metadata service, IMDSv2 only: every GET carries a session token from
// `PUT /latest/api/token` (X-aws-ec2-metadata-token-ttl-seconds), which is reused until
// shortly before it expires (Ec2TokenCache) and renewed once when IMDS answers 401 to it.
// The calls go through a MetadataClient of the EC2 flavor: the configured endpoint, the
// shared RetryPolicy, never a proxy, never a redirect. There is no fallback to IMDSv1:
// a failed token request is reported as such (AWS's SDKs fall back, which hides the
// very problems guestpulse diagnoses).

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "agent/metadata/ec2_token_cache.hpp"
#include "agent/metadata/metadata_client.hpp"

namespace guestpulse {

inline constexpr Duration kEc2DefaultTokenTtl = std::chrono::hours(6);  // AWS's SDKs ask the same

// What a token-carrying GET did, step by step, for the diagnosis (agent/diagnosis/ec2.hpp).
struct Ec2Call {
  std::optional<MetadataResult> token;  // the token PUT made, if one was needed
  std::optional<MetadataResult> get;    // the GET with the token, if a token was had
  bool tokenFresh = true;               // the GET's token was issued during this call
  bool cachedTokenRejected = false;     // a cached token was answered 401 and renewed
};

class Ec2MetadataClient {
 public:
  // `imds` must be of MetadataFlavor::ec2() and outlive this client.
  explicit Ec2MetadataClient(MetadataClient& imds, Duration tokenTtl = kEc2DefaultTokenTtl);

  // GET `path` (below /latest/ unless it starts with '/') with a token: the cached one,
  // or a new one. A 401 to a cached token renews it once. `attempts` 0 = the budget.
  boost::asio::awaitable<Ec2Call> get(std::string path, int attempts = 0);
  // One GET without a token: evidence only (are GETs answered at all?), never a fallback.
  boost::asio::awaitable<MetadataResult> getWithoutToken(std::string path);

  MetadataClient& imds() { return imds_; }
  void forgetToken() { cache_.forget(); }
  std::uint64_t tokensIssued() const { return tokensIssued_; }

 private:
  boost::asio::awaitable<MetadataResult> fetchToken(int attempts);

  MetadataClient& imds_;
  Duration tokenTtl_;
  Ec2TokenCache cache_;
  std::uint64_t tokensIssued_ = 0;
};

}  // namespace guestpulse
