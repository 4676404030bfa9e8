#pragma once
// The metadata probe: can this VM talk to its metadata server? A GET of a cheap path
// (instance/id) each interval, classified by diagnoseMetadataCall.

#include <string>

#include "agent/metadata/metadata_client.hpp"
#include "agent/probes/probe.hpp"

namespace guestpulse {

class MetadataProbe : public Probe {
 public:
  MetadataProbe(MetadataClient& client, Duration interval);

  const std::string& name() const override { return name_; }
  Duration interval() const override { return interval_; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  std::string name_ = "metadata";
  MetadataClient& client_;
  Duration interval_;
};

// The worst-case time of a call with the full retry budget, plus slack: each attempt's
// timeout and every backoff ceiling.
Duration worstCaseCallTime(const RetrySettings& retry, Duration timeout);

}  // namespace guestpulse
