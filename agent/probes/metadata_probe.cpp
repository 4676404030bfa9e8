#include "agent/probes/metadata_probe.hpp"

#include <boost/asio/ip/address.hpp>

#include "agent/diagnosis/metadata.hpp"
#include "agent/net/blocking_pool.hpp"
#include "platform/inspector.hpp"

namespace guestpulse {

namespace asio = boost::asio;

MetadataProbe::MetadataProbe(MetadataClient& client, MetadataProbeOptions options,
                             std::shared_ptr<platform::Inspector> inspector, BlockingPool* pool)
    : client_(client),
      options_(std::move(options)),
      inspector_(std::move(inspector)),
      pool_(pool),
      resolver_(pool ? std::make_unique<NameResolver>(*pool) : nullptr) {}

Duration worstCaseCallTime(const RetrySettings& retry, Duration timeout) {
  RetryPolicy ceilings(retry, [] { return 1.0; });
  Duration total = timeout * retry.attempts + std::chrono::seconds(1);
  for (int i = 0; i + 1 < retry.attempts; ++i) total += ceilings.ceiling(i);
  return total;
}

Duration MetadataProbe::deadline() const {
  // The call, then either the network evidence or the name lookup and local files.
  return worstCaseCallTime(client_.retrySettings(), client_.timeout()) +
         options_.inspectionDeadline + client_.timeout() + std::chrono::seconds(2);
}

template <class T>
asio::awaitable<std::optional<T>> MetadataProbe::inspect(std::function<T()> work,
                                                         Duration deadline) {
  if (!inspector_ || !pool_) co_return std::nullopt;
  std::optional<T> found = co_await pool_->run<T>(work, deadline);
  co_return found;
}

asio::awaitable<ProbeResult> MetadataProbe::run(ProbeRunContext context) {
  // Callables and results are named locals, never temporaries inside a co_await
  // expression: GCC 12 destroys such temporaries twice in coroutines.
  MetadataFacts facts;
  facts.endpoint = client_.endpoint().display();
  facts.hostname = options_.hostname;
  facts.gce = options_.gce;
  MetadataResult call = co_await client_.get("instance/id", context.alreadyFailing ? 1 : 0);
  facts.call = std::move(call);

  const HttpResult& last = facts.call.last();
  boost::system::error_code notLiteral;
  auto literal = asio::ip::make_address(client_.endpoint().host, notLiteral);
  if (!notLiteral && literal.is_v4())
    facts.endpointAddress = literal.to_string();
  else if (!last.resolvedAddresses.empty())
    facts.endpointAddress = last.resolvedAddresses.front();

  std::shared_ptr<platform::Inspector> inspector = inspector_;  // kept alive by each job
  const Duration quick = client_.timeout();
  const std::string address = facts.endpointAddress;
  const std::string hostname = options_.hostname;
  std::function<platform::RouteFacts()> route = [inspector, address] {
    return inspector->routeTo(address);
  };
  std::function<platform::FirewallFacts()> firewall = [inspector, address] {
    return inspector->firewall(address);
  };
  std::function<platform::HostsFacts()> hosts = [inspector, hostname] {
    return inspector->hostsEntry(hostname);
  };
  std::function<platform::ResolverFacts()> resolverFacts = [inspector] {
    return inspector->resolver();
  };
  std::function<platform::ProxyFacts()> proxies = [inspector] {
    return inspector->proxyEnvironment();
  };

  if (!last.ok()) {
    bool network = last.failedStep == HttpStep::Connect || last.timedOut ||
                   last.failedStep == HttpStep::Read || last.failedStep == HttpStep::Write;
    if (network && !address.empty()) {
      auto routeFacts = co_await inspect<platform::RouteFacts>(route, quick);
      facts.route = std::move(routeFacts);
      auto firewallFacts =
          co_await inspect<platform::FirewallFacts>(firewall, options_.inspectionDeadline);
      facts.firewall = std::move(firewallFacts);
    }
    if (last.failedStep == HttpStep::Resolve) {
      std::function<platform::HostsFacts()> endpointHosts =
          [inspector, host = client_.endpoint().host] { return inspector->hostsEntry(host); };
      auto hostsFacts = co_await inspect<platform::HostsFacts>(endpointHosts, quick);
      facts.hosts = std::move(hostsFacts);
    }
  } else if (!facts.call.flavorOk) {
    if (!address.empty()) {
      auto firewallFacts =
          co_await inspect<platform::FirewallFacts>(firewall, options_.inspectionDeadline);
      facts.firewall = std::move(firewallFacts);
    }
  } else if (resolver_ &&
             (address == facts.metadataAddress || client_.endpoint().host == hostname)) {
    // How other software reaches the metadata server matters only when this endpoint is
    // that server; an override (GCE_METADATA_HOST to an emulator) is checked over HTTP only.
    NameResolution name = co_await resolver_->resolve(hostname, quick);
    facts.name = std::move(name);
    auto hostsFacts = co_await inspect<platform::HostsFacts>(hosts, quick);
    facts.hosts = std::move(hostsFacts);
    if (options_.gce) {
      auto resolved = co_await inspect<platform::ResolverFacts>(resolverFacts, quick);
      facts.resolver = std::move(resolved);
    }
    auto proxyFacts = co_await inspect<platform::ProxyFacts>(proxies, quick);
    if (proxyFacts)
      facts.proxies = findProxyExposures(*proxyFacts, hostname, facts.metadataAddress);
  }
  ProbeResult result = diagnoseMetadata(facts);
  co_return result;
}

}  // namespace guestpulse
