#pragma once
// The metadata probe on Azure (probe `metadata`): can this VM use the Instance Metadata
// Service, and if not, why? Each run:
//  1. GET /metadata/instance?api-version=<pinned> with `Metadata: true`, retried per
//     RetryPolicy, which for IMDS also retries 404 and 410 (the service is being
//     updated); one attempt while the probe is already failing;
//  2. if it failed to connect, send or read: the route and firewall rules; if the endpoint
//     name did not resolve: the hosts file; on an unexpected 4xx: NAT redirect rules;
//  3. if IMDS answered at its own address: the proxy environment other software uses.
// It remembers since when IMDS has answered 404/410, so that a spell shorter than
// kAzureUpdatingGrace (70 s) stays DEGRADED and a longer one is FAILED.
// The facts go to diagnoseAzure() (agent/diagnosis/azure.hpp).

#include <memory>
#include <optional>
#include <string>

#include "agent/metadata/metadata_client.hpp"
#include "agent/probes/network_inspection.hpp"
#include "agent/probes/probe.hpp"

namespace guestpulse {

class BlockingPool;
namespace platform {
class Inspector;
}

struct AzureMetadataProbeOptions {
  Duration interval = std::chrono::seconds(30);
  Duration inspectionDeadline = std::chrono::seconds(8);  // the firewall listing
};

class AzureMetadataProbe : public Probe {
 public:
  // `imds` is a MetadataClient of MetadataFlavor::azure(). `inspector` and `pool` may be
  // null: then only the HTTP layer is examined.
  AzureMetadataProbe(MetadataClient& imds, AzureMetadataProbeOptions options,
                     std::shared_ptr<platform::Inspector> inspector = nullptr,
                     BlockingPool* pool = nullptr);

  const std::string& name() const override { return name_; }
  Duration interval() const override { return options_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  std::string name_ = "metadata";
  MetadataClient& imds_;
  AzureMetadataProbeOptions options_;
  NetworkInspection inspection_;
  std::optional<SteadyTime> updatingSince_;  // first 404/410 of the current spell
};

}  // namespace guestpulse
