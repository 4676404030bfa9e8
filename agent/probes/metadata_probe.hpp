#pragma once
// The metadata probe: can this VM use its metadata server, and if not, why?
//
// Each run, layer by layer:
//  1. GET instance/id at the endpoint's address (retried per RetryPolicy);
//  2. if that failed to connect: the route to the address and the firewall rules that
//     would block or redirect it (the evidence behind net.* causes);
//  3. if it answered: the metadata name through the system resolver, the hosts file,
//     the resolver configuration (GCE) and the proxy environment — problems that break
//     other software on the VM even though this agent, dialling the address directly
//     and never using a proxy, still gets through.
// The facts go to diagnoseMetadata(), which names one cause and its fix.

#include <functional>
#include <memory>
#include <string>

#include "agent/metadata/metadata_client.hpp"
#include "agent/net/name_resolver.hpp"
#include "agent/probes/network_inspection.hpp"
#include "agent/probes/probe.hpp"

namespace guestpulse {

class BlockingPool;
namespace platform {
class Inspector;
}

struct MetadataProbeOptions {
  Duration interval = std::chrono::seconds(30);
  std::string hostname = "metadata.google.internal";
  bool gce = true;
  // Bound on gathering the firewall evidence (it runs iptables-save / nft).
  Duration inspectionDeadline = std::chrono::seconds(8);
};

class MetadataProbe : public Probe {
 public:
  // `inspector` and `pool` may be null: then only the HTTP layer is examined.
  MetadataProbe(MetadataClient& client, MetadataProbeOptions options,
                std::shared_ptr<platform::Inspector> inspector = nullptr,
                BlockingPool* pool = nullptr);

  const std::string& name() const override { return name_; }
  Duration interval() const override { return options_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  std::string name_ = "metadata";
  MetadataClient& client_;
  MetadataProbeOptions options_;
  NetworkInspection inspection_;
  std::unique_ptr<NameResolver> resolver_;
};

// The worst-case time of a call with the full retry budget, plus slack: each attempt's
// timeout and every backoff ceiling.
Duration worstCaseCallTime(const RetrySettings& retry, Duration timeout);

}  // namespace guestpulse
