#pragma once
// The diagnosis of a Traffic Director / Envoy sidecar VM (the service_proxy probe),
// I/O-free and step by step like assessWorkloadCerts(): assessServiceProxy() looks at
// what has been found so far and either names the next thing to find out or gives the
// verdict. It follows the Traffic Director troubleshooting guide's hand method:
//  1. instance attribute gce-service-proxy (its absence means: not a service-proxy VM,
//     when enabled: auto) — it also names the proxy port and the serving ports;
//  2. guest attributes gce-service-proxy/bootstrap-status (and bootstrap-last-failure);
//  3. gce-service-proxy/agent-heartbeat (and agent-last-failure): older than
//     heartbeat_stale means the on-VM agent is dead. The guide fixes no format: RFC 3339
//     and Unix seconds are both read;
//  4. the default service account's scopes (cloud-platform);
//  5. Envoy's admin interface: /ready, /server_info (version), /config_dump (listeners);
//  6. the control plane's name, the nat interception (the platform inspector), then a
//     TCP connection to the control plane — unless the nat rules would hand this agent's
//     own connection to the proxy, which would prove nothing.
// When bootstrap has not finished (or failed), or the agent is dead, that is the verdict
// and nothing further is asked. Otherwise every finding is gathered and the first in
// this order is the verdict, the rest are listed in the details (other_findings):
//   service_proxy.agent_dead > .interception_loop > .control_plane_unreachable >
//   .scope_missing > .envoy_not_ready > .interception_missing > .envoy_too_old (DEGRADED)
// Bootstrap: .bootstrap_failed; .bootstrap_pending is DEGRADED while the VM's uptime is
// under bootstrap_grace, FAILED after.
// As for workload_certs, a metadata server that cannot be asked gives no verdict
// (`unreachable`): that outage is the metadata probe's to report.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/diagnosis/envoy_admin.hpp"
#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "agent/net/http_result.hpp"
#include "agent/net/name_resolution.hpp"
#include "agent/net/tcp_connect.hpp"
#include "platform/fix_hints.hpp"
#include "platform/host_facts.hpp"

namespace guestpulse {

inline constexpr const char* kServiceProxyAttribute = "instance/attributes/gce-service-proxy";
inline constexpr const char* kServiceProxyGuestAttributes =
    "instance/guest-attributes/gce-service-proxy/";
inline constexpr const char* kDefaultScopes = "instance/service-accounts/default/scopes";
inline constexpr const char* kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";

// The instance attribute gce-service-proxy as the automated deployment writes it:
// {"api-version": "0.2", "proxy-spec": {"proxy-port": 15001, ...},
//  "service": {"serving-ports": [80, 81]}, ...}. Unknown members are ignored.
struct ServiceProxySpec {
  bool parsed = false;  // the value was a JSON object
  std::uint16_t proxyPort = 15001;
  std::vector<std::uint16_t> servingPorts;
};
ServiceProxySpec parseServiceProxySpec(std::string_view attribute);

// agent-heartbeat: RFC 3339 or Unix seconds, surrounding white space ignored.
std::optional<WallTime> parseHeartbeat(std::string_view value);

struct ServiceProxyFacts {
  // Settings (probes.service_proxy) and the moment.
  std::string endpoint;      // the metadata server as dialled, for messages
  bool askAttribute = true;  // enabled: auto — the instance attribute decides
  Duration heartbeatStale = std::chrono::minutes(5);
  Duration bootstrapGrace = std::chrono::minutes(10);
  std::string envoyAdmin = "127.0.0.1:15000";
  std::string controlPlaneHost = "trafficdirector.googleapis.com";
  std::uint16_t controlPlanePort = 443;
  bool canInspect = true;  // a platform inspector is there for the nat rules
  WallTime now{};
  std::optional<Duration> uptime;  // the VM's

  // Metadata answers.
  std::optional<MetadataResult> attribute;
  std::optional<MetadataResult> bootstrapStatus;
  std::optional<MetadataResult> bootstrapFailure;  // bootstrap-last-failure
  std::optional<MetadataResult> heartbeat;
  std::optional<MetadataResult> agentFailure;  // agent-last-failure
  std::optional<MetadataResult> scopes;
  // Envoy's admin interface (config_dump's body went to the scanner).
  std::optional<HttpResult> ready;
  std::optional<HttpResult> serverInfo;
  std::optional<HttpResult> configDump;
  std::optional<ConfigDumpListeners> listeners;
  // The control plane and the nat rules.
  std::optional<NameResolution> controlPlaneName;
  bool interceptionLooked = false;
  std::optional<platform::InterceptionFacts> interception;  // nullopt after a look: timed out
  Duration inspectionDeadline{0};
  std::optional<TcpConnectResult> controlPlaneConnect;
};

enum class ServiceProxyStep {
  Attribute,
  BootstrapStatus,
  BootstrapFailure,
  Heartbeat,
  AgentFailure,
  Scopes,
  EnvoyReady,
  EnvoyServerInfo,
  EnvoyConfigDump,
  ControlPlaneName,
  Interception,
  ControlPlaneConnect,
  Verdict
};

struct ServiceProxyAssessment {
  ServiceProxyStep next = ServiceProxyStep::Verdict;
  ProbeResult result;        // the verdict, when next == Verdict
  bool unreachable = false;  // the metadata server could not be asked; `why` says how
  std::string why;
  platform::InterceptionQuery interceptionQuery;  // for next == Interception
  std::vector<std::string> connectAddresses;      // for next == ControlPlaneConnect
};

ServiceProxyAssessment assessServiceProxy(const ServiceProxyFacts& facts,
                                          const platform::FixHints& hints = platform::fixHints());

// The paths the probe asks for each step.
std::string serviceProxyGuestAttribute(std::string_view key);  // "...gce-service-proxy/<key>"

}  // namespace guestpulse
