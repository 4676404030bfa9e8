#pragma once
// The evidence behind the network layers of a metadata diagnosis (network_layers.hpp):
// the route, the firewall, the hosts file, the resolver and the proxy environment, read
// through the platform Inspector on the blocking pool, each bounded by its deadline. The
// metadata probes of every provider gather it the same way through this class.
// Without an inspector or a pool, every read answers nullopt (HTTP-only diagnosis).

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "agent/core/duration.hpp"
#include "agent/diagnosis/network_layers.hpp"
#include "agent/net/http_result.hpp"
#include "platform/host_facts.hpp"

namespace guestpulse {

class BlockingPool;
struct MetadataEndpoint;
namespace platform {
class Inspector;
}

class NetworkInspection {
 public:
  NetworkInspection(std::shared_ptr<platform::Inspector> inspector, BlockingPool* pool);

  // After a call that got no answer: the route and the firewall rules behind a failure to
  // connect, send or read (when `address`, the address dialled, is known), the hosts-file
  // entry of `endpointHost` when that name did not resolve. `quick` bounds the route and
  // the hosts file, `slow` the firewall listing.
  boost::asio::awaitable<void> explainUnanswered(const HttpResult& last, std::string address,
                                                 std::string endpointHost, Duration quick,
                                                 Duration slow, NetworkEvidence& evidence);

  boost::asio::awaitable<std::optional<platform::FirewallFacts>> firewall(std::string address,
                                                                          Duration deadline);
  boost::asio::awaitable<std::optional<platform::HostsFacts>> hosts(std::string name,
                                                                    Duration deadline);
  boost::asio::awaitable<std::optional<platform::ResolverFacts>> resolver(Duration deadline);
  boost::asio::awaitable<std::optional<platform::ProxyFacts>> proxies(Duration deadline);

 private:
  template <class T>
  boost::asio::awaitable<std::optional<T>> inspect(std::function<T()> work, Duration deadline);

  std::shared_ptr<platform::Inspector> inspector_;  // shared: a late pool job may still use it
  BlockingPool* pool_;
};

// The address a call dialled: the endpoint's IPv4 literal, or the first address its name
// resolved to; "" when neither is known.
std::string dialledAddress(const MetadataEndpoint& endpoint, const HttpResult& last);

}  // namespace guestpulse
