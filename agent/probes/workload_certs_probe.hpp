#pragma once
// The workload_certs probe: are this VM's workload identity certificates (GCE managed
// workload identities) configured, and are the credentials the guest agent keeps in
// /run/secrets/workload-spiffe-credentials/ usable?
//
// Google's guest agent polls instance/gce-workload-certificates/config-status every 10
// minutes and logs an error on every 404 — on every VM that never enabled the feature.
// This probe does not cry wolf:
//  - `auto` (the default) first reads the instance attribute enable-workload-certificate
//    and, unless it is true, makes no request to gce-workload-certificates/ at all;
//  - config-status 404 is workload_certs.not_configured, an INFO finding on an OK state:
//    the health model reports it once and never again while it lasts;
//  - when the metadata server cannot be reached, the probe keeps its last verdict (that
//    outage is the metadata probe's to report) instead of flapping.
//
// Causes: workload_certs.not_configured (OK, INFO), .misconfigured (412, or 200 with
// errors), .credentials_missing, .invalid (damaged, key mismatch, does not chain to the
// trust anchors, not yet valid), .expired, .expiring and .not_rotated (DEGRADED).

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/certs/workload_credentials.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/probes/probe.hpp"
#include "config/config.hpp"

namespace guestpulse {

class BlockingPool;

inline constexpr const char* kWorkloadCertAttribute =
    "instance/attributes/enable-workload-certificate";
inline constexpr const char* kWorkloadConfigStatus =
    "instance/gce-workload-certificates/config-status";

struct WorkloadCertsProbeOptions {
  Enablement enabled = Enablement::Auto;
  Duration interval = std::chrono::minutes(10);
  std::string credentialsDir = "/run/secrets/workload-spiffe-credentials";
  Duration fileDeadline = std::chrono::seconds(5);
  certs::WorkloadCredentialsPolicy policy;
};

// The body of a 200 config-status, read tolerantly: unknown fields are ignored; every
// string found under a member whose name contains "error" is an error, reported as
// "<path>: <message>"; a `status` mentioning an error or failure is one too.
struct ConfigStatus {
  bool parsed = false;  // the body was a JSON object
  std::string status;   // the `status` member, if any
  std::vector<std::string> errors;
};
ConfigStatus parseConfigStatus(std::string_view body);

// The instance attribute's value as the guest agent reads it (Go's strconv.ParseBool
// truths: 1, t, T, TRUE, true, True), surrounding whitespace ignored.
bool attributeIsTrue(std::string_view value);

// A server's answer body as one short line: HTML tags dropped, whitespace collapsed,
// at most `limit` characters.
std::string bodySummary(std::string_view body, std::size_t limit = 200);

class WorkloadCertsProbe : public Probe {
 public:
  WorkloadCertsProbe(MetadataClient& client, BlockingPool& pool, WorkloadCertsProbeOptions options,
                     std::function<WallTime()> wallClock = {});

  const std::string& name() const override { return name_; }
  Duration interval() const override { return options_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  boost::asio::awaitable<ProbeResult> check(int attempts);
  boost::asio::awaitable<ProbeResult> checkCredentials(const std::string& statusNote);
  ProbeResult remember(ProbeResult result);
  ProbeResult unknown(const std::string& what, const MetadataResult& call);

  std::string name_ = "workload_certs";
  MetadataClient& client_;
  BlockingPool& pool_;
  WorkloadCertsProbeOptions options_;
  std::function<WallTime()> wallClock_;
  std::optional<ProbeResult> lastVerdict_;
};

}  // namespace guestpulse
