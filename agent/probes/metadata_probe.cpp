#include "agent/probes/metadata_probe.hpp"

#include "agent/diagnosis/metadata.hpp"
#include "agent/net/blocking_pool.hpp"
#include "platform/inspector.hpp"

namespace guestpulse {

namespace asio = boost::asio;

MetadataProbe::MetadataProbe(MetadataClient& client, MetadataProbeOptions options,
                             std::shared_ptr<platform::Inspector> inspector, BlockingPool* pool)
    : client_(client),
      options_(std::move(options)),
      inspection_(std::move(inspector), pool),
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
  facts.endpointAddress = dialledAddress(client_.endpoint(), last);
  const Duration quick = client_.timeout();
  const std::string address = facts.endpointAddress;
  const std::string hostname = options_.hostname;

  if (!last.ok()) {
    NetworkEvidence evidence;
    co_await inspection_.explainUnanswered(last, address, client_.endpoint().host, quick,
                                           options_.inspectionDeadline, evidence);
    facts.route = std::move(evidence.route);
    facts.firewall = std::move(evidence.firewall);
    facts.hosts = std::move(evidence.hosts);
  } else if (!facts.call.flavorOk) {
    if (!address.empty()) {
      auto firewallFacts = co_await inspection_.firewall(address, options_.inspectionDeadline);
      facts.firewall = std::move(firewallFacts);
    }
  } else if (resolver_ &&
             (address == facts.metadataAddress || client_.endpoint().host == hostname)) {
    // How other software reaches the metadata server matters only when this endpoint is
    // that server; an override (GCE_METADATA_HOST to an emulator) is checked over HTTP only.
    NameResolution name = co_await resolver_->resolve(hostname, quick);
    facts.name = std::move(name);
    auto hostsFacts = co_await inspection_.hosts(hostname, quick);
    facts.hosts = std::move(hostsFacts);
    if (options_.gce) {
      auto resolved = co_await inspection_.resolver(quick);
      facts.resolver = std::move(resolved);
    }
    auto proxyFacts = co_await inspection_.proxies(quick);
    if (proxyFacts)
      facts.proxies = findProxyExposures(*proxyFacts, hostname, facts.metadataAddress);
  }
  ProbeResult result = diagnoseMetadata(facts);
  co_return result;
}

}  // namespace guestpulse
