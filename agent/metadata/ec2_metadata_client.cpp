#include "agent/metadata/ec2_metadata_client.hpp"

#include <charconv>

namespace guestpulse {

namespace asio = boost::asio;

namespace {

constexpr const char* kTokenHeader = "X-aws-ec2-metadata-token";
constexpr const char* kTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";

// A token is printable ASCII without spaces; anything else did not come from IMDS.
bool plausibleToken(const std::string& token) {
  if (token.empty() || token.size() > 512) return false;
  for (char c : token)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

}  // namespace

Ec2MetadataClient::Ec2MetadataClient(MetadataClient& imds, Duration tokenTtl)
    : imds_(imds), tokenTtl_(tokenTtl) {}

asio::awaitable<MetadataResult> Ec2MetadataClient::fetchToken(int attempts) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(tokenTtl_).count();
  HttpHeaders headers = {{kTtlHeader, std::to_string(seconds)}};
  MetadataResult put = co_await imds_.put("api/token", {}, attempts, std::move(headers));
  if (put.status() == 200 && plausibleToken(put.body())) {
    // IMDS says how long the token lives; trust the shorter of its word and ours.
    Duration ttl = tokenTtl_;
    if (auto granted = put.last().response->header(kTtlHeader)) {
      long value = 0;
      auto [end, ec] = std::from_chars(granted->data(), granted->data() + granted->size(), value);
      if (ec == std::errc() && end == granted->data() + granted->size() && value > 0)
        ttl = std::min<Duration>(ttl, std::chrono::seconds(value));
    }
    cache_.store(put.body(), ttl, SteadyClock::now());
    ++tokensIssued_;
  }
  co_return put;
}

asio::awaitable<Ec2Call> Ec2MetadataClient::get(std::string path, int attempts) {
  Ec2Call call;
  if (std::optional<std::string> cached = cache_.token(SteadyClock::now())) {
    HttpHeaders headers = {{kTokenHeader, *cached}};
    MetadataResult withCached = co_await imds_.get(path, attempts, std::move(headers));
    if (withCached.status() != 401) {
      call.get = std::move(withCached);
      call.tokenFresh = false;
      co_return call;
    }
    // Expired early, or IMDS restarted and forgot it: renew once.
    cache_.forget();
    call.cachedTokenRejected = true;
  }
  MetadataResult put = co_await fetchToken(attempts);
  std::optional<std::string> fresh = cache_.token(SteadyClock::now());
  call.token = std::move(put);
  if (!fresh) co_return call;
  HttpHeaders headers = {{kTokenHeader, *fresh}};
  MetadataResult withFresh = co_await imds_.get(path, attempts, std::move(headers));
  if (withFresh.status() == 401) cache_.forget();
  call.get = std::move(withFresh);
  call.tokenFresh = true;
  co_return call;
}

asio::awaitable<MetadataResult> Ec2MetadataClient::getWithoutToken(std::string path) {
  MetadataResult result = co_await imds_.get(std::move(path), 1);
  co_return result;
}

}  // namespace guestpulse
