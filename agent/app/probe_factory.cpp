// Which probes a configuration enables. Every probe the agent and `check` run is built
// here, so adding a probe means adding it to makeProbes() and nowhere else.

#include "agent/app/probe_factory.hpp"

#include <stdexcept>

#include "agent/app/agent.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/probes/custom_probes.hpp"
#include "agent/probes/metadata_probe.hpp"

namespace guestpulse {

std::unique_ptr<MetadataClient> makeMetadataClient(const Config& config, HttpClient& http,
                                                   UnitRandom random) {
  auto endpoint = MetadataEndpoint::parse(config.metadata.endpoint);
  if (!endpoint) throw std::invalid_argument("metadata.endpoint: cannot parse " + config.metadata.endpoint);
  RetrySettings retry{config.retry.initial, config.retry.max, config.retry.multiplier,
                      config.retry.attempts};
  return std::make_unique<MetadataClient>(http, *endpoint, config.metadata.timeout, retry,
                                          std::move(random));
}

std::vector<std::unique_ptr<Probe>> makeProbes(const Config& config, const ProbeDeps& deps) {
  std::vector<std::unique_ptr<Probe>> probes;
  if (config.probes.metadata.enabled) {
    MetadataProbeOptions options;
    options.interval = config.probes.metadata.interval;
    options.hostname = config.metadata.hostname;
    // auto counts as GCE until other providers have probes of their own.
    options.gce = config.provider == Provider::Gce || config.provider == Provider::Auto;
    probes.push_back(std::make_unique<MetadataProbe>(deps.metadata, options, deps.inspector, &deps.pool));
  }
  for (auto& probe : makeCustomProbes(config.probes.custom, deps.http, deps.pool))
    probes.push_back(std::move(probe));
  return probes;
}

}  // namespace guestpulse
