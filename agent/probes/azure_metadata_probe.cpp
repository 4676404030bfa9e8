#include "agent/probes/azure_metadata_probe.hpp"

#include "agent/diagnosis/azure.hpp"
#include "agent/probes/metadata_probe.hpp"

namespace guestpulse {

namespace asio = boost::asio;

AzureMetadataProbe::AzureMetadataProbe(MetadataClient& imds, AzureMetadataProbeOptions options,
                                       std::shared_ptr<platform::Inspector> inspector,
                                       BlockingPool* pool)
    : imds_(imds), options_(std::move(options)), inspection_(std::move(inspector), pool) {}

Duration AzureMetadataProbe::deadline() const {
  return worstCaseCallTime(imds_.retrySettings(), imds_.timeout()) + options_.inspectionDeadline +
         imds_.timeout() + std::chrono::seconds(2);
}

asio::awaitable<ProbeResult> AzureMetadataProbe::run(ProbeRunContext context) {
  AzureFacts facts;
  facts.network.endpoint = imds_.endpoint().display();
  const SteadyTime started = SteadyClock::now();
  MetadataResult call = co_await imds_.get(azureInstanceTarget(), context.alreadyFailing ? 1 : 0);
  facts.call = std::move(call);

  const int status = facts.call.status();
  if (status == 404 || status == 410) {
    if (!updatingSince_) updatingSince_ = started;
    facts.updatingFor = std::chrono::duration_cast<Duration>(SteadyClock::now() - *updatingSince_);
  } else {
    updatingSince_.reset();
  }

  const HttpResult& last = facts.call.last();
  const std::string address = dialledAddress(imds_.endpoint(), last);
  const Duration quick = imds_.timeout();
  if (!last.ok()) {
    co_await inspection_.explainUnanswered(last, address, imds_.endpoint().host, quick,
                                           options_.inspectionDeadline, facts.network);
  } else if (status >= 400 && status < 500 && status != 404 && status != 410 && status != 429) {
    if (!address.empty()) {
      auto firewallFacts = co_await inspection_.firewall(address, options_.inspectionDeadline);
      facts.network.firewall = std::move(firewallFacts);
    }
  } else if (status == 200 && address == facts.network.metadataAddress) {
    auto proxyFacts = co_await inspection_.proxies(quick);
    if (proxyFacts)
      facts.network.proxies = findProxyExposures(*proxyFacts, {facts.network.metadataAddress});
  }
  ProbeResult result = diagnoseAzure(facts);
  co_return result;
}

}  // namespace guestpulse
