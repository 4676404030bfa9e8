#pragma once
// The IMDSv2 state of one fake EC2 instance: its metadata options and the session tokens
// it has issued. Thread-safe: the server thread issues and checks tokens, tests and the
// control API change the options or forget the tokens from other threads.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>

#include "tests/fake_mds/fake_mds.hpp"

namespace guestpulse::fake {

class Ec2Imds {
 public:
  using Clock = std::chrono::steady_clock;

  static constexpr int kMinTtl = 1;      // seconds, as IMDSv2 documents
  static constexpr int kMaxTtl = 21600;  // six hours

  explicit Ec2Imds(Ec2Options options = {});

  Ec2Options options() const;
  // Throws std::invalid_argument when the hop limit is outside 1..64.
  void setOptions(const Ec2Options& options);

  // A new opaque token valid for `ttlSeconds` (already checked to be in range).
  std::string issue(int ttlSeconds, Clock::time_point now = Clock::now());

  enum class Check { Valid, Unknown, Expired };
  Check check(const std::string& token, Clock::time_point now = Clock::now());

  std::size_t liveTokens(Clock::time_point now = Clock::now()) const;
  void clear();

 private:
  mutable std::mutex mutex_;
  Ec2Options options_;
  std::map<std::string, Clock::time_point> tokens_;  // token -> expiry
  std::mt19937_64 random_;
};

void validateEc2Options(const Ec2Options& options);

}  // namespace guestpulse::fake
