#pragma once
// The metadata probe on EC2 (probe `metadata`): can this instance use IMDSv2, and if not,
// why? Each run:
//  1. GET meta-data/instance-id with a session token (Ec2MetadataClient: the cached token,
//     or PUT api/token first; a 401 to a cached token renews it once), each call retried
//     per RetryPolicy, one attempt each while the probe is already failing;
//  2. if the token PUT got no answer: a plain TCP connect to the endpoint and one GET
//     without a token, the evidence that tells the hop limit from an outage;
//  3. if a call failed to connect, send or read: the route and firewall rules; if the
//     endpoint name did not resolve: the hosts file; on 400/403: NAT redirect rules;
//  4. if IMDS answered at its own address: the proxy environment other software uses.
// The facts go to diagnoseEc2() (agent/diagnosis/ec2.hpp).

#include <memory>
#include <string>

#include "agent/metadata/ec2_metadata_client.hpp"
#include "agent/probes/network_inspection.hpp"
#include "agent/probes/probe.hpp"

namespace guestpulse {

class BlockingPool;
class HttpClient;
namespace platform {
class Inspector;
}

struct Ec2MetadataProbeOptions {
  Duration interval = std::chrono::seconds(30);
  Duration tokenTtl = kEc2DefaultTokenTtl;
  Duration inspectionDeadline = std::chrono::seconds(8);  // the firewall listing
};

class Ec2MetadataProbe : public Probe {
 public:
  // `imds` is a MetadataClient of MetadataFlavor::ec2(); `http` makes the TCP check.
  // `inspector` and `pool` may be null: then only the HTTP layer is examined.
  Ec2MetadataProbe(MetadataClient& imds, HttpClient& http, Ec2MetadataProbeOptions options,
                   std::shared_ptr<platform::Inspector> inspector = nullptr,
                   BlockingPool* pool = nullptr);

  const std::string& name() const override { return name_; }
  Duration interval() const override { return options_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

  const Ec2MetadataClient& client() const { return client_; }

 private:
  std::string name_ = "metadata";
  MetadataClient& imds_;
  Ec2MetadataClient client_;
  HttpClient& http_;
  Ec2MetadataProbeOptions options_;
  NetworkInspection inspection_;
  std::string instanceId_;  // from the last answer, for the fixes
};

// The address of EC2's IMDS that an endpoint stands for: fd00:ec2::254 for the IPv6
// endpoint, otherwise 169.254.169.254 (also for an override such as a local emulator).
std::string ec2MetadataAddress(const MetadataEndpoint& endpoint);

}  // namespace guestpulse
