#pragma once
// The IMDSv2 session token, kept between calls: reused until shortly before it expires
// (a quarter of its lifetime, at most one minute, before), then renewed; forgotten when
// IMDS answers 401 to it. Sans-I/O: the caller passes the time.

#include <optional>
#include <string>

#include "agent/core/duration.hpp"

namespace guestpulse {

class Ec2TokenCache {
 public:
  // The token while it is good for use at `now`, or nullopt when it must be renewed.
  std::optional<std::string> token(SteadyTime now) const;
  // A token issued at `now` for `ttl`.
  void store(std::string token, Duration ttl, SteadyTime now);
  void forget();

 private:
  std::string token_;
  SteadyTime renewAt_{};
};

}  // namespace guestpulse
