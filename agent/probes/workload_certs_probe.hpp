#pragma once
// The workload_certs probe: are this VM's workload identity certificates (GCE managed
// workload identities) configured, and are the credentials the guest agent keeps in
// /run/secrets/workload-spiffe-credentials/ usable?
//
// The reasoning is assessWorkloadCerts() (agent/diagnosis/workload_certs.hpp); this
// probe performs the steps it asks for (the instance attribute, config-status, reading
// the files) and, when the metadata server cannot be asked, keeps its last verdict
// instead of flapping: that outage is the metadata probe's to report.

#include <functional>
#include <optional>
#include <string>

#include "agent/certs/workload_credentials.hpp"
#include "agent/probes/probe.hpp"
#include "config/config.hpp"

namespace guestpulse {

class BlockingPool;
class MetadataClient;

struct WorkloadCertsProbeOptions {
  Enablement enabled = Enablement::Auto;
  Duration interval = std::chrono::minutes(10);
  std::string credentialsDir = "/run/secrets/workload-spiffe-credentials";
  Duration fileDeadline = std::chrono::seconds(5);
  certs::WorkloadCredentialsPolicy policy;
};

class WorkloadCertsProbe : public Probe {
 public:
  WorkloadCertsProbe(MetadataClient& client, BlockingPool& pool, WorkloadCertsProbeOptions options,
                     std::function<WallTime()> wallClock = {});

  const std::string& name() const override { return name_; }
  Duration interval() const override { return options_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  std::string name_ = "workload_certs";
  MetadataClient& client_;
  BlockingPool& pool_;
  WorkloadCertsProbeOptions options_;
  std::function<WallTime()> wallClock_;
  std::optional<ProbeResult> lastVerdict_;
};

}  // namespace guestpulse
