// Which probes a configuration enables. Every probe the agent and `check` run is built
// here, so adding a probe means adding it to makeProbes() and nowhere else.

#include "agent/app/probe_factory.hpp"

#include <stdexcept>

#include "agent/metadata/metadata_client.hpp"
#include "agent/probes/azure_metadata_probe.hpp"
#include "agent/probes/custom_probes.hpp"
#include "agent/probes/ec2_metadata_probe.hpp"
#include "agent/probes/mds_mtls_probe.hpp"
#include "agent/probes/metadata_probe.hpp"
#include "agent/probes/service_proxy_probe.hpp"
#include "agent/probes/workload_certs_probe.hpp"
#include "platform/inspector.hpp"

namespace guestpulse {

RetrySettings retrySettings(const Config& config) {
  return {config.retry.initial, config.retry.max, config.retry.multiplier, config.retry.attempts};
}

std::unique_ptr<MetadataClient> makeMetadataClient(const Config& config, HttpClient& http,
                                                   UnitRandom random, Provider provider) {
  auto endpoint = MetadataEndpoint::parse(config.metadata.endpoint);
  if (!endpoint)
    throw std::invalid_argument("metadata.endpoint: cannot parse " + config.metadata.endpoint);
  MetadataFlavor flavor = provider == Provider::Ec2     ? MetadataFlavor::ec2()
                          : provider == Provider::Azure ? MetadataFlavor::azure()
                                                        : MetadataFlavor::gce();
  return std::make_unique<MetadataClient>(http, *endpoint, config.metadata.timeout,
                                          retrySettings(config), std::move(random),
                                          std::move(flavor));
}

bool hasGuestAttributes(Provider provider) {
  return provider == Provider::Gce || provider == Provider::Auto;
}

namespace {

std::unique_ptr<Probe> makeWorkloadCertsProbe(const Config& config, const ProbeDeps& deps) {
  WorkloadCertsProbeOptions options;
  options.enabled = config.probes.workloadCerts.enabled;
  options.interval = config.probes.workloadCerts.interval;
  options.credentialsDir = config.probes.workloadCerts.credentialsDir;
  return std::make_unique<WorkloadCertsProbe>(deps.metadata, deps.pool, options);
}

// HTTPS to the address the metadata client dials (GCE_METADATA_HOST applied), verified
// as metadata.hostname.
std::unique_ptr<Probe> makeMdsMtlsProbe(const Config& config, const ProbeDeps& deps) {
  MdsMtlsProbeOptions options;
  options.enabled = config.probes.mdsMtls.enabled;
  options.interval = config.probes.mdsMtls.interval;
  options.rootCa = config.probes.mdsMtls.rootCa;
  options.clientCert = config.probes.mdsMtls.clientCert;
  options.host = deps.metadata.endpoint().host;
  options.port = static_cast<std::uint16_t>(config.probes.mdsMtls.port);
  options.serverName = config.metadata.hostname;
  options.timeout = config.metadata.timeout;
  options.retry = deps.metadata.retrySettings();
  options.child = deps.child;
  return std::make_unique<MdsMtlsProbe>(deps.http, deps.pool, options);
}

std::unique_ptr<Probe> makeServiceProxyProbe(const Config& config, const ProbeDeps& deps) {
  const ServiceProxyProbeConfig& c = config.probes.serviceProxy;
  ServiceProxyProbeOptions options;
  options.enabled = c.enabled;
  options.interval = c.interval;
  options.envoyAdmin = c.envoyAdmin;
  options.heartbeatStale = c.heartbeatStale;
  options.bootstrapGrace = c.bootstrapGrace;
  options.controlPlane = c.controlPlane;
  return std::make_unique<ServiceProxyProbe>(deps.metadata, deps.http, deps.pool, deps.inspector,
                                             options);
}

// The metadata probe of the provider the agent runs on; every one is named `metadata`.
std::unique_ptr<Probe> makeMetadataProbe(const Config& config, const ProbeDeps& deps) {
  switch (deps.provider) {
    case Provider::Ec2: {
      Ec2MetadataProbeOptions options;
      options.interval = config.probes.metadata.interval;
      return std::make_unique<Ec2MetadataProbe>(deps.metadata, deps.http, options, deps.inspector,
                                                &deps.pool);
    }
    case Provider::Azure: {
      AzureMetadataProbeOptions options;
      options.interval = config.probes.metadata.interval;
      return std::make_unique<AzureMetadataProbe>(deps.metadata, options, deps.inspector,
                                                  &deps.pool);
    }
    case Provider::Gce:
    case Provider::Auto:
      break;
  }
  MetadataProbeOptions options;
  options.interval = config.probes.metadata.interval;
  options.hostname = config.metadata.hostname;
  options.gce = true;
  return std::make_unique<MetadataProbe>(deps.metadata, options, deps.inspector, &deps.pool);
}

}  // namespace

std::vector<std::unique_ptr<Probe>> makeProbes(const Config& config, const ProbeDeps& deps) {
  std::vector<std::unique_ptr<Probe>> probes;
  if (config.probes.metadata.enabled) probes.push_back(makeMetadataProbe(config, deps));
  const bool gce = deps.provider == Provider::Gce || deps.provider == Provider::Auto;
  if (gce && config.probes.workloadCerts.enabled != Enablement::False)
    probes.push_back(makeWorkloadCertsProbe(config, deps));
  if (gce && config.probes.mdsMtls.enabled != Enablement::False)
    probes.push_back(makeMdsMtlsProbe(config, deps));
  if (gce && config.probes.serviceProxy.enabled != Enablement::False)
    probes.push_back(makeServiceProxyProbe(config, deps));
  for (auto& probe : makeCustomProbes(config.probes.custom, deps.http, deps.pool))
    probes.push_back(std::move(probe));
  return probes;
}

OneShotProbes::OneShotProbes(const Config& config, Provider provider)
    : metadata(makeMetadataClient(config, http, makeUnitRandom(), provider)),
      inspector(platform::makeInspector()),
      // No child spec: these run every probe in this process.
      probes(makeProbes(config, ProbeDeps{*metadata, http, pool, inspector, provider})) {}

OneShotProbes::~OneShotProbes() = default;

}  // namespace guestpulse
