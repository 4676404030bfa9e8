#pragma once
// The mds_mtls probe: can this VM talk to the metadata server over mutual TLS, the way
// Google's guest agent and client libraries do when the feature is on, and if not, which
// step fails?
//
// Each run:
//  1. `auto` mode: nothing at all unless the CA file exists (the guest agent creates
//     /run/google-mds-mtls/ when the feature is on); OK "not set up" otherwise;
//  2. reads root.crt and client.key and checks them locally (parseable, key matches
//     the certificate, dates);
//  3. HTTPS to the metadata endpoint's address on `port`, SNI and certificate name
//     checked against `serverName` (metadata.google.internal), presenting the client
//     certificate; GET instance/id with Metadata-Flavor: Google. Transient failures
//     (5xx, 429, connect errors) are retried per RetryPolicy; TLS failures are not —
//     a certificate problem does not go away in seconds.
// diagnoseMdsMtls() (agent/diagnosis/mtls.hpp) turns what was found into one cause.
// In the daemon, steps 2 and 3 run in a short-lived child (options.child), and only
// step 1 in the daemon itself.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/core/random.hpp"
#include "agent/core/retry_policy.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "agent/probes/probe.hpp"
#include "agent/probes/probe_in_child.hpp"
#include "config/config.hpp"

namespace guestpulse {

class BlockingPool;
class HttpClient;
class TlsContextProvider;

struct MdsMtlsProbeOptions {
  Enablement enabled = Enablement::Auto;
  Duration interval = std::chrono::minutes(10);
  std::string rootCa = "/run/google-mds-mtls/root.crt";
  std::string clientCert = "/run/google-mds-mtls/client.key";  // certificate and key
  std::string host = "169.254.169.254";                        // address (or name) dialled
  std::uint16_t port = 443;
  std::string serverName = "metadata.google.internal";  // SNI and the name verified
  Duration timeout = std::chrono::seconds(2);           // per attempt
  RetrySettings retry;
  Duration fileDeadline = std::chrono::seconds(5);  // reading the two files
  // When set, everything past "is mTLS set up?" runs in a child process
  // (probe_in_child.hpp), so the daemon never loads OpenSSL for this probe.
  ChildProbeSpec child;
};

class MdsMtlsProbe : public Probe {
 public:
  // `random` drives the retry jitter; seeded from the OS when empty.
  MdsMtlsProbe(HttpClient& http, BlockingPool& pool, MdsMtlsProbeOptions options,
               UnitRandom random = {}, std::function<WallTime()> wallClock = {});

  const std::string& name() const override { return name_; }
  Duration interval() const override { return options_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  boost::asio::awaitable<MetadataResult> call(TlsContextProvider& tls, int attempts);
  boost::asio::awaitable<ProbeResult> runInChild(ProbeRunContext context);
  // The bound on one run in this process: reading the files and the call with retries.
  Duration inProcessDeadline() const;

  std::string name_ = "mds_mtls";
  HttpClient& http_;
  BlockingPool& pool_;
  MdsMtlsProbeOptions options_;
  UnitRandom random_;
  std::function<WallTime()> wallClock_;
};

}  // namespace guestpulse
