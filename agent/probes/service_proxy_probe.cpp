#include "agent/probes/service_proxy_probe.hpp"

#include "agent/diagnosis/service_proxy.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/net/tcp_connect.hpp"
#include "platform/inspector.hpp"
#include "platform/process.hpp"

namespace guestpulse {

namespace asio = boost::asio;

namespace {

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};

// "host:port" or "[v6]:port", as the config validator accepts them.
HostPort splitHostPort(const std::string& text) {
  HostPort out;
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) return {text, 0};
  out.host = text.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  try {
    unsigned long port = std::stoul(text.substr(colon + 1));
    out.port = port <= 65535 ? static_cast<std::uint16_t>(port) : 0;
  } catch (const std::exception&) {
    out.port = 0;
  }
  return out;
}

HttpRequest adminRequest(const HostPort& admin, std::string target) {
  HttpRequest request;
  request.host = admin.host;
  request.port = admin.port;
  request.target = std::move(target);
  return request;
}

}  // namespace

ServiceProxyProbe::ServiceProxyProbe(MetadataClient& metadata, HttpClient& http, BlockingPool& pool,
                                     std::shared_ptr<platform::Inspector> inspector,
                                     ServiceProxyProbeOptions options,
                                     std::function<WallTime()> wallClock,
                                     std::function<std::optional<Duration>()> uptime)
    : metadata_(metadata),
      http_(http),
      pool_(pool),
      inspector_(std::move(inspector)),
      options_(std::move(options)),
      wallClock_(wallClock ? std::move(wallClock) : [] { return WallClock::now(); }),
      uptime_(uptime ? std::move(uptime)
                     : []() -> std::optional<Duration> { return platform::timeSinceBoot(); }),
      resolver_(pool) {}

Duration ServiceProxyProbe::deadline() const {
  // At most four metadata calls (one attempt each) on any path, the admin interface, the
  // control plane's name and connection, and the nat listing.
  return 4 * metadata_.timeout() + 2 * options_.adminTimeout + options_.configDumpTimeout +
         2 * options_.controlPlaneTimeout + options_.inspectionDeadline + std::chrono::seconds(2);
}

asio::awaitable<ProbeResult> ServiceProxyProbe::run(ProbeRunContext) {
  if (notProxySince_ && lastVerdict_ &&
      SteadyClock::now() - *notProxySince_ < options_.attributeRecheck)
    co_return *lastVerdict_;
  notProxySince_.reset();
  const int attempts = 1;
  const HostPort admin = splitHostPort(options_.envoyAdmin);
  const HostPort controlPlane = splitHostPort(options_.controlPlane);
  ServiceProxyFacts facts;
  facts.endpoint = metadata_.endpoint().display();
  facts.askAttribute = options_.enabled == Enablement::Auto;
  facts.heartbeatStale = options_.heartbeatStale;
  facts.bootstrapGrace = options_.bootstrapGrace;
  facts.envoyAdmin = options_.envoyAdmin;
  facts.controlPlaneHost = controlPlane.host;
  facts.controlPlanePort = controlPlane.port;
  facts.canInspect = inspector_ != nullptr;
  facts.inspectionDeadline = options_.inspectionDeadline;
  facts.now = wallClock_();
  facts.uptime = uptime_();

  for (;;) {
    ServiceProxyAssessment assessment = assessServiceProxy(facts);
    // The metadata path, or the admin target, of this step.
    std::string path;
    std::optional<MetadataResult>* answer = nullptr;
    switch (assessment.next) {
      case ServiceProxyStep::Attribute:
        path = kServiceProxyAttribute;
        answer = &facts.attribute;
        break;
      case ServiceProxyStep::BootstrapStatus:
        path = serviceProxyGuestAttribute("bootstrap-status");
        answer = &facts.bootstrapStatus;
        break;
      case ServiceProxyStep::BootstrapFailure:
        path = serviceProxyGuestAttribute("bootstrap-last-failure");
        answer = &facts.bootstrapFailure;
        break;
      case ServiceProxyStep::Heartbeat:
        path = serviceProxyGuestAttribute("agent-heartbeat");
        answer = &facts.heartbeat;
        break;
      case ServiceProxyStep::AgentFailure:
        path = serviceProxyGuestAttribute("agent-last-failure");
        answer = &facts.agentFailure;
        break;
      case ServiceProxyStep::Scopes:
        path = kDefaultScopes;
        answer = &facts.scopes;
        break;
      default:
        break;
    }
    if (answer) {
      // Named locals, never temporaries inside a co_await expression (GCC 12).
      MetadataResult result = co_await metadata_.get(path, attempts);
      *answer = std::move(result);
      continue;
    }
    switch (assessment.next) {
      case ServiceProxyStep::EnvoyReady:
      case ServiceProxyStep::EnvoyServerInfo: {
        const bool ready = assessment.next == ServiceProxyStep::EnvoyReady;
        HttpRequest request = adminRequest(admin, ready ? "/ready" : "/server_info");
        HttpResult result = co_await http_.request(request, options_.adminTimeout);
        (ready ? facts.ready : facts.serverInfo) = std::move(result);
        break;
      }
      case ServiceProxyStep::EnvoyConfigDump: {
        ConfigDumpScanner scanner;
        HttpRequest request = adminRequest(admin, "/config_dump");
        request.bodyLimit = options_.configDumpLimit;
        request.bodySink = [&scanner](std::string_view piece) { return scanner.feed(piece); };
        HttpResult dump = co_await http_.request(request, options_.configDumpTimeout);
        if (dump.ok() && !dump.response->bodyTruncated && !dump.response->bodyStopped)
          scanner.finish();
        facts.listeners = scanner.result();
        facts.configDump = std::move(dump);
        break;
      }
      case ServiceProxyStep::ControlPlaneName: {
        NameResolution name =
            co_await resolver_.resolve(controlPlane.host, options_.controlPlaneTimeout);
        facts.controlPlaneName = std::move(name);
        break;
      }
      case ServiceProxyStep::Interception: {
        std::shared_ptr<platform::Inspector> inspector = inspector_;  // kept alive by the job
        const platform::InterceptionQuery query = assessment.interceptionQuery;
        std::function<platform::InterceptionFacts()> read = [inspector, query] {
          return inspector->interception(query);
        };
        auto found =
            co_await pool_.run<platform::InterceptionFacts>(read, options_.inspectionDeadline);
        facts.interceptionLooked = true;
        facts.interception = std::move(found);
        break;
      }
      case ServiceProxyStep::ControlPlaneConnect: {
        std::vector<std::string> addresses = assessment.connectAddresses;
        TcpConnectResult connected = co_await connectTcp(std::move(addresses), controlPlane.port,
                                                         options_.controlPlaneTimeout);
        facts.controlPlaneConnect = std::move(connected);
        break;
      }
      case ServiceProxyStep::Verdict:
        if (!assessment.unreachable) {
          lastVerdict_ = assessment.result;
          if (facts.askAttribute && facts.attribute && facts.attribute->status() == 404)
            notProxySince_ = SteadyClock::now();
          co_return assessment.result;
        }
        if (lastVerdict_) {
          // A metadata outage must not look like a change of the service proxy.
          ProbeResult kept = *lastVerdict_;
          kept.details.emplace_back("not_rechecked", assessment.why);
          co_return kept;
        }
        co_return assessment.result;
      default:  // the metadata steps, done above
        break;
    }
  }
}

}  // namespace guestpulse
