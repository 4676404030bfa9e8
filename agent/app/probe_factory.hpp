#pragma once
// Which probes a configuration enables, for the daemon and for `check`: the metadata
// probe of the provider the agent runs on first (GCE, EC2 IMDSv2 or Azure IMDS, each
// named `metadata`), then (on GCE) workload_certs, mds_mtls and service_proxy, then the
// custom probes in config order. What differs per provider is decided here and nowhere
// else: which probe, which metadata client flavor, and whether guest attributes exist.

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "agent/core/random.hpp"
#include "agent/core/retry_policy.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/probe_in_child.hpp"
#include "config/config.hpp"

namespace guestpulse {

class BlockingPool;
class HttpClient;
class MetadataClient;
class Probe;
namespace platform {
class Inspector;
}

// What the probes run on. Every reference must outlive the probes built from it.
struct ProbeDeps {
  MetadataClient& metadata;
  HttpClient& http;    // custom http probes
  BlockingPool& pool;  // name resolution for custom tcp probes (exec probes get their own)
  // The metadata probe's evidence; null = HTTP only. Shared: a pool job abandoned at its
  // deadline may still be using it.
  std::shared_ptr<platform::Inspector> inspector;
  Provider provider = Provider::Gce;  // the provider the agent runs on (never Auto)
  // Set in the daemon: TLS probes run in a child of this program (probe_in_child.hpp).
  // Empty in `check`, in the child itself and in tests that run the agent in-process.
  ChildProbeSpec child{};
};

std::vector<std::unique_ptr<Probe>> makeProbes(const Config& config, const ProbeDeps& deps);

// retry.*: the backoff of every metadata call, and of cycles while a probe keeps failing.
RetrySettings retrySettings(const Config& config);

// Builds the metadata client for a config, in the flavor of `provider` (endpoint parsed;
// the provider's environment override applied by the config loader). Throws
// std::invalid_argument on an endpoint that does not parse.
std::unique_ptr<MetadataClient> makeMetadataClient(const Config& config, HttpClient& http,
                                                   UnitRandom random,
                                                   Provider provider = Provider::Gce);

// Guest attributes are a GCE feature: elsewhere the sink does not exist.
bool hasGuestAttributes(Provider provider);

// The probes of a config with everything they run on, owned together, for the commands
// that run them once in this process (`check`, `internal probe`): their own io_context,
// a small pool, the HTTP and metadata clients and this OS's inspector.
struct OneShotProbes {
  OneShotProbes(const Config& config, Provider provider);
  ~OneShotProbes();
  boost::asio::io_context io;
  BlockingPool pool{2};
  HttpClient http{io.get_executor(), pool};
  std::unique_ptr<MetadataClient> metadata;
  std::shared_ptr<platform::Inspector> inspector;
  std::vector<std::unique_ptr<Probe>> probes;
};

}  // namespace guestpulse
