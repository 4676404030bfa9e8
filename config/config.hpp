#pragma once
// The agent's configuration as validated plain structs. Parsed once from YAML
// (config/guestpulse.yaml documents every key); the defaults below are the built-in
// defaults and must equal the shipped file (on Linux; paths come from platform/paths.hpp).

#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/duration.hpp"
#include "platform/paths.hpp"

namespace guestpulse {

enum class Provider { Auto, Gce, Ec2, Azure };
enum class Enablement { False, True, Auto };  // "auto" = run only where it applies

// How `provider: auto` tells the clouds apart: the firmware's identity (DMI/SMBIOS), and
// only when that is inconclusive, one short request per provider to the metadata address.
struct DetectionConfig {
  std::string sysfsRoot = "/sys";  // Linux: sysfs, whose class/dmi/id is read; unused on Windows
  Duration timeout = std::chrono::seconds(1);  // per tagged request

  bool operator==(const DetectionConfig&) const = default;
};

struct MetadataConfig {
  std::string endpoint = "http://169.254.169.254";  // scheme://host[:port]
  std::string hostname = "metadata.google.internal";
  Duration timeout = std::chrono::seconds(2);

  bool operator==(const MetadataConfig&) const = default;
};

struct RetryConfig {
  Duration initial = std::chrono::seconds(1);
  Duration max = std::chrono::seconds(60);
  double multiplier = 2.0;
  int attempts = 5;

  bool operator==(const RetryConfig&) const = default;
};

struct MetadataProbeConfig {
  bool enabled = true;
  Duration interval = std::chrono::seconds(30);

  bool operator==(const MetadataProbeConfig&) const = default;
};

struct WorkloadCertsProbeConfig {
  Enablement enabled = Enablement::Auto;
  Duration interval = std::chrono::minutes(10);
  std::string credentialsDir = platform::defaultWorkloadCredentialsDir();

  bool operator==(const WorkloadCertsProbeConfig&) const = default;
};

struct MdsMtlsProbeConfig {
  Enablement enabled = Enablement::Auto;
  Duration interval = std::chrono::minutes(10);
  std::string rootCa = platform::defaultMtlsRootCa();
  std::string clientCert = platform::defaultMtlsClientCert();
  int port = 443;  // HTTPS port of the metadata server; the host comes from metadata.endpoint

  bool operator==(const MdsMtlsProbeConfig&) const = default;
};

// A Traffic Director / Envoy sidecar VM (agent/diagnosis/service_proxy.hpp).
struct ServiceProxyProbeConfig {
  Enablement enabled = Enablement::Auto;  // auto: when the instance attribute is there
  Duration interval = std::chrono::minutes(1);
  std::string envoyAdmin = "127.0.0.1:15000";          // host:port of Envoy's admin interface
  Duration heartbeatStale = std::chrono::minutes(5);   // agent-heartbeat older: agent dead
  Duration bootstrapGrace = std::chrono::minutes(10);  // bootstrap pending: DEGRADED, then FAILED
  std::string controlPlane = "trafficdirector.googleapis.com:443";  // host:port, name and TCP

  bool operator==(const ServiceProxyProbeConfig&) const = default;
};

enum class CustomProbeKind { Http, Tcp, Exec };

struct CustomProbeConfig {
  std::string name;  // [a-z0-9_-]+, unique; becomes guest attribute probe-<name>
  CustomProbeKind kind = CustomProbeKind::Http;
  Duration interval = std::chrono::seconds(60);
  Duration timeout = std::chrono::seconds(5);
  std::string url;                   // http
  int expectStatus = 200;            // http
  std::string address;               // tcp: host:port
  std::vector<std::string> command;  // exec: argv, exit 0 = OK

  bool operator==(const CustomProbeConfig&) const = default;
};

struct ProbesConfig {
  MetadataProbeConfig metadata;
  WorkloadCertsProbeConfig workloadCerts;
  MdsMtlsProbeConfig mdsMtls;
  ServiceProxyProbeConfig serviceProxy;
  std::vector<CustomProbeConfig> custom;

  bool operator==(const ProbesConfig&) const = default;
};

struct GuestAttributesConfig {
  bool enabled = true;
  std::string ns = "guestpulse";  // YAML key: namespace
  Duration heartbeat = std::chrono::seconds(60);

  bool operator==(const GuestAttributesConfig&) const = default;
};

struct SerialConfig {
  bool enabled = true;
  std::string device = platform::defaultSerialDevice();
  Duration reminder = std::chrono::minutes(10);  // repeat a lasting failure at most this often

  bool operator==(const SerialConfig&) const = default;
};

struct MetricsConfig {
  std::string listen;  // "" = off; otherwise host:port, e.g. 127.0.0.1:9464

  bool operator==(const MetricsConfig&) const = default;
};

struct ReportConfig {
  GuestAttributesConfig guestAttributes;
  SerialConfig serial;
  std::string stateDir = platform::defaultStateDir();
  MetricsConfig metrics;

  bool operator==(const ReportConfig&) const = default;
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error | off

  bool operator==(const LogConfig&) const = default;
};

struct Config {
  Provider provider = Provider::Auto;
  DetectionConfig detection;
  MetadataConfig metadata;
  RetryConfig retry;
  ProbesConfig probes;
  ReportConfig report;
  LogConfig log;

  bool operator==(const Config&) const = default;
};

// One problem found in a config file: the YAML path (e.g. "probes.metadata.interval"),
// the 1-based line (0 when unknown) and what is wrong.
struct ConfigProblem {
  std::string path;
  int line = 0;
  std::string message;
  std::string toString() const;  // "line 7: probes.metadata.interval: ..."

  bool operator==(const ConfigProblem&) const = default;
};

struct ConfigLoadResult {
  std::optional<Config> config;         // set only when problems is empty
  std::vector<ConfigProblem> problems;  // every problem, not just the first
};

// Parses and validates YAML text. Unknown keys are problems (a typo must not silently
// fall back to a default). Missing keys take the defaults above.
ConfigLoadResult parseConfig(const std::string& yamlText);

// The largest config file read: a config is a few KiB; more is the wrong file.
inline constexpr std::size_t kMaxConfigBytes = 1 << 20;

// Reads a file and parses it. A missing or unreadable file is a problem with path "", and
// so is anything but a regular file (a FIFO, a device, a directory), which is refused
// without waiting on it (platform::readRegularFile).
ConfigLoadResult loadConfigFile(const std::string& filePath);

// Applies the environment overrides that the providers' own libraries honour, for the
// provider the agent runs on (`provider`; Auto counts as GCE):
//  - gce: GCE_METADATA_HOST=host[:port] replaces metadata.endpoint with http://host[:port];
//  - ec2: AWS_EC2_METADATA_SERVICE_ENDPOINT=http://host[:port] replaces it (a trailing '/'
//    dropped), and otherwise AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 selects EC2's
//    IPv6 address, http://[fd00:ec2::254], as AWS's SDKs do;
//  - azure: none.
// Empty values are ignored. Values are taken as they are, like the libraries do; call
// validateConfig afterwards to catch a malformed one.
void applyEnvironmentOverrides(Config& config, Provider provider);
void applyEnvironmentOverrides(Config& config);  // for config.provider

// The endpoint the agent would use on `provider`: metadata.endpoint with that provider's
// environment override applied.
std::string metadataEndpointFor(const Config& config, Provider provider);

// YAML path -> 1-based line where it was written, as collected by parseConfig.
using ConfigLineMap = std::map<std::string, int>;

// Checks the values of a typed Config: ranges, formats, required fields, unique probe
// names. parseConfig runs it; exposed so that a Config changed after loading (e.g. by
// applyEnvironmentOverrides) can be checked again. A problem's line comes from `lines`
// (the nearest written ancestor of its path), or is 0.
std::vector<ConfigProblem> validateConfig(const Config& config, const ConfigLineMap& lines = {});

// The effective config as YAML with every key, in the layout of config/guestpulse.yaml;
// parseConfig(toYaml(c)) yields c again. For `guestpulse config show`.
std::string toYaml(const Config& config);

// A duration as config text that parseDuration reads back exactly: "30s", "1m30s",
// "1s500ms", "0s". (formatDuration is for humans and rounds.)
std::string formatConfigDuration(Duration d);

std::string_view toString(Provider p);         // "auto", "gce", "ec2", "azure"
std::string_view toString(Enablement e);       // "false", "true", "auto"
std::string_view toString(CustomProbeKind k);  // "http", "tcp", "exec"

// The inverses of toString, as the config file spells the values (lowercase). Booleans
// and Enablement also take the YAML 1.1 spellings yes/no/on/off/y/n in lower, Title or
// UPPER case, as yaml-cpp does. nullopt when the text is none of them.
std::optional<Provider> parseProvider(std::string_view text);
std::optional<Enablement> parseEnablement(std::string_view text);
std::optional<CustomProbeKind> parseCustomProbeKind(std::string_view text);
std::optional<bool> parseYamlBool(std::string_view text);

// Why `text` is not a valid duration, for a problem message: "'30' needs a unit: 500ms,
// 30s, 10m, 1h". Only meaningful when parseDuration(text) failed.
std::string describeDurationError(std::string_view text);

// The candidate closest to `word` within edit distance 2 (case and '-' vs '_' ignored),
// for "did you mean" hints; empty when none is that close.
std::string_view closestMatch(std::string_view word,
                              const std::vector<std::string_view>& candidates);

}  // namespace guestpulse
