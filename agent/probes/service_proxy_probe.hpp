#pragma once
// The service_proxy probe: is this Traffic Director / Envoy sidecar VM's service proxy
// healthy, judged as the Traffic Director troubleshooting guide tells a person to?
//
// The reasoning is assessServiceProxy() (agent/diagnosis/service_proxy.hpp); this probe
// performs the steps it asks for: metadata GETs (instance attribute, gce-service-proxy/
// guest attributes, scopes), plain HTTP to Envoy's admin interface on loopback (the
// config_dump body streamed to a scanner, never held: at most configDumpLimit bytes are
// read, within configDumpTimeout), the control plane's name and a TCP connection to it,
// and the nat rules through the platform inspector on the blocking pool.
//
// Load on the metadata server: each metadata call is one attempt. When one fails, the
// last verdict stands (the metadata probe retries and reports that outage) and the next
// cycle asks again, so an outage costs one request per interval. With enabled: auto, a
// VM without the gce-service-proxy attribute is asked again only every
// attributeRecheck (10 minutes), as the certificate probes do.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent/net/name_resolver.hpp"
#include "agent/probes/probe.hpp"
#include "config/config.hpp"

namespace guestpulse {

class BlockingPool;
class HttpClient;
class MetadataClient;
namespace platform {
class Inspector;
}

struct ServiceProxyProbeOptions {
  Enablement enabled = Enablement::Auto;
  Duration interval = std::chrono::minutes(1);
  std::string envoyAdmin = "127.0.0.1:15000";
  Duration heartbeatStale = std::chrono::minutes(5);
  Duration bootstrapGrace = std::chrono::minutes(10);
  std::string controlPlane = "trafficdirector.googleapis.com:443";
  Duration adminTimeout = std::chrono::seconds(2);       // /ready, /server_info
  Duration configDumpTimeout = std::chrono::seconds(5);  // /config_dump, connect to last byte
  std::size_t configDumpLimit = 16 << 20;
  Duration controlPlaneTimeout = std::chrono::seconds(5);  // the name, then the connection
  Duration inspectionDeadline = std::chrono::seconds(8);   // the nat listing
  Duration attributeRecheck = std::chrono::minutes(10);    // auto, attribute absent
};

class ServiceProxyProbe : public Probe {
 public:
  // `inspector` may be null: the nat rules are then not examined. `wallClock` and
  // `uptime` default to the system's.
  ServiceProxyProbe(MetadataClient& metadata, HttpClient& http, BlockingPool& pool,
                    std::shared_ptr<platform::Inspector> inspector,
                    ServiceProxyProbeOptions options, std::function<WallTime()> wallClock = {},
                    std::function<std::optional<Duration>()> uptime = {});

  const std::string& name() const override { return name_; }
  Duration interval() const override { return options_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  std::string name_ = "service_proxy";
  MetadataClient& metadata_;
  HttpClient& http_;
  BlockingPool& pool_;
  std::shared_ptr<platform::Inspector> inspector_;
  ServiceProxyProbeOptions options_;
  std::function<WallTime()> wallClock_;
  std::function<std::optional<Duration>()> uptime_;
  NameResolver resolver_;
  std::optional<ProbeResult> lastVerdict_;
  std::optional<SteadyTime> notProxySince_;  // auto: when the attribute was last absent
};

}  // namespace guestpulse
