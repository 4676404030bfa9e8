#include "agent/probes/network_inspection.hpp"

#include <functional>

#include <boost/asio/ip/address.hpp>

#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "platform/inspector.hpp"

namespace guestpulse {

namespace asio = boost::asio;

NetworkInspection::NetworkInspection(std::shared_ptr<platform::Inspector> inspector,
                                     BlockingPool* pool)
    : inspector_(std::move(inspector)), pool_(pool) {}

template <class T>
asio::awaitable<std::optional<T>> NetworkInspection::inspect(std::function<T()> work,
                                                             Duration deadline) {
  if (!inspector_ || !pool_) co_return std::nullopt;
  std::optional<T> found = co_await pool_->run<T>(work, deadline);
  co_return found;
}

// Callables and results are named locals, never temporaries inside a co_await
// expression: GCC 12 destroys such temporaries twice in coroutines.

asio::awaitable<std::optional<platform::FirewallFacts>> NetworkInspection::firewall(
    std::string address, Duration deadline) {
  std::shared_ptr<platform::Inspector> inspector = inspector_;
  std::function<platform::FirewallFacts()> work = [inspector, address] {
    return inspector->firewall(address);
  };
  auto found = co_await inspect<platform::FirewallFacts>(work, deadline);
  co_return found;
}

asio::awaitable<std::optional<platform::HostsFacts>> NetworkInspection::hosts(std::string name,
                                                                              Duration deadline) {
  std::shared_ptr<platform::Inspector> inspector = inspector_;
  std::function<platform::HostsFacts()> work = [inspector, name] {
    return inspector->hostsEntry(name);
  };
  auto found = co_await inspect<platform::HostsFacts>(work, deadline);
  co_return found;
}

asio::awaitable<std::optional<platform::ResolverFacts>> NetworkInspection::resolver(
    Duration deadline) {
  std::shared_ptr<platform::Inspector> inspector = inspector_;
  std::function<platform::ResolverFacts()> work = [inspector] { return inspector->resolver(); };
  auto found = co_await inspect<platform::ResolverFacts>(work, deadline);
  co_return found;
}

asio::awaitable<std::optional<platform::ProxyFacts>> NetworkInspection::proxies(Duration deadline) {
  std::shared_ptr<platform::Inspector> inspector = inspector_;
  std::function<platform::ProxyFacts()> work = [inspector] {
    return inspector->proxyEnvironment();
  };
  auto found = co_await inspect<platform::ProxyFacts>(work, deadline);
  co_return found;
}

asio::awaitable<void> NetworkInspection::explainUnanswered(const HttpResult& last,
                                                           std::string address,
                                                           std::string endpointHost, Duration quick,
                                                           Duration slow,
                                                           NetworkEvidence& evidence) {
  const bool network = last.failedStep == HttpStep::Connect || last.timedOut ||
                       last.failedStep == HttpStep::Read || last.failedStep == HttpStep::Write;
  if (network && !address.empty()) {
    std::shared_ptr<platform::Inspector> inspector = inspector_;
    std::function<platform::RouteFacts()> route = [inspector, address] {
      return inspector->routeTo(address);
    };
    auto routeFacts = co_await inspect<platform::RouteFacts>(route, quick);
    evidence.route = std::move(routeFacts);
    auto firewallFacts = co_await firewall(address, slow);
    evidence.firewall = std::move(firewallFacts);
  }
  if (last.failedStep == HttpStep::Resolve) {
    auto hostsFacts = co_await hosts(endpointHost, quick);
    evidence.hosts = std::move(hostsFacts);
  }
}

std::string dialledAddress(const MetadataEndpoint& endpoint, const HttpResult& last) {
  boost::system::error_code notLiteral;
  auto literal = asio::ip::make_address(endpoint.host, notLiteral);
  if (!notLiteral && literal.is_v4()) return literal.to_string();
  if (!last.resolvedAddresses.empty()) return last.resolvedAddresses.front();
  return {};
}

}  // namespace guestpulse
