#pragma once
// Resolves a host name the way every other program on the VM does (getaddrinfo: the
// hosts file, then DNS, per nsswitch), on the blocking pool with a deadline.
//
// Single-flight per name: while an earlier lookup of the same name is still stuck in
// the OS (a dead nameserver can hold getaddrinfo for timeout x attempts), a new request
// does not start another one; it reports the lookup as still pending. So a hung resolver
// costs at most one pool thread per name, whatever the probe interval.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "agent/core/duration.hpp"
#include "agent/net/name_resolution.hpp"

namespace guestpulse {

class BlockingPool;

class NameResolver {
 public:
  explicit NameResolver(BlockingPool& pool) : pool_(pool) {}
  boost::asio::awaitable<NameResolution> resolve(std::string name, Duration deadline);

 private:
  BlockingPool& pool_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> inFlight_;  // map: loop thread only
};

}  // namespace guestpulse
