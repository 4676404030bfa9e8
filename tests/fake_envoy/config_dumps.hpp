#pragma once
// The bodies of the fake's /config_dump, produced piece by piece so that a huge or
// endless one never sits in memory. Internal to fake_envoy_lib.

#include <chrono>
#include <cstddef>
#include <string>

#include "tests/fake_envoy/fake_envoy.hpp"

namespace guestpulse::fake {

class DumpBody {
 public:
  DumpBody(ConfigDumpMode mode, std::size_t hugeBytes);

  bool chunked() const { return length_ == kUnknown; }
  std::size_t length() const { return length_; }  // when !chunked()
  // The next piece; empty at the end.
  std::string next();
  std::chrono::milliseconds pause() const;  // before each piece after the first

 private:
  static constexpr std::size_t kUnknown = static_cast<std::size_t>(-1);
  ConfigDumpMode mode_;
  std::string whole_;  // the small bodies, and the tail of a huge one
  std::size_t length_ = kUnknown;
  std::size_t clusters_ = 0;  // huge: cluster objects still to write
  std::size_t sent_ = 0;
  int stage_ = 0;
};

// The server_info body for a version ("1.27.0") and state ("LIVE").
std::string serverInfoBody(const std::string& version, const std::string& state);

}  // namespace guestpulse::fake
