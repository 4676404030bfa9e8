#include "agent/metadata/ec2_token_cache.hpp"

#include <algorithm>

namespace guestpulse {

std::optional<std::string> Ec2TokenCache::token(SteadyTime now) const {
  if (token_.empty() || now >= renewAt_) return std::nullopt;
  return token_;
}

void Ec2TokenCache::store(std::string token, Duration ttl, SteadyTime now) {
  // Renewed early, so a token never expires between this check and IMDS reading it.
  const Duration margin = std::min<Duration>(std::chrono::minutes(1), ttl / 4);
  token_ = std::move(token);
  renewAt_ = now + (ttl - margin);
}

void Ec2TokenCache::forget() { token_.clear(); }

}  // namespace guestpulse
