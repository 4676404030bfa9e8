#pragma once
// The agent's configuration as validated plain structs. Parsed once from YAML
// (config/guestpulse.yaml documents every key); the defaults below are the built-in
// defaults and must equal the shipped file.

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/core/duration.hpp"

namespace guestpulse {

enum class Provider { Auto, Gce, Ec2, Azure };
enum class Enablement { False, True, Auto };  // "auto" = run only where it applies

struct MetadataConfig {
  std::string endpoint = "http://169.254.169.254";  // scheme://host[:port]
  std::string hostname = "metadata.google.internal";
  Duration timeout = std::chrono::seconds(2);
};

struct RetryConfig {
  Duration initial = std::chrono::seconds(1);
  Duration max = std::chrono::seconds(60);
  double multiplier = 2.0;
  int attempts = 5;
};

struct MetadataProbeConfig {
  bool enabled = true;
  Duration interval = std::chrono::seconds(30);
};

struct WorkloadCertsProbeConfig {
  Enablement enabled = Enablement::Auto;
  Duration interval = std::chrono::minutes(10);
  std::string credentialsDir = "/run/secrets/workload-spiffe-credentials";
};

struct MdsMtlsProbeConfig {
  Enablement enabled = Enablement::Auto;
  Duration interval = std::chrono::minutes(10);
  std::string rootCa = "/run/google-mds-mtls/root.crt";
  std::string clientCert = "/run/google-mds-mtls/client.key";
};

enum class CustomProbeKind { Http, Tcp, Exec };

struct CustomProbeConfig {
  std::string name;  // [a-z0-9_-]+, unique; becomes guest attribute probe-<name>
  CustomProbeKind kind = CustomProbeKind::Http;
  Duration interval = std::chrono::seconds(60);
  Duration timeout = std::chrono::seconds(5);
  std::string url;                  // http
  int expectStatus = 200;           // http
  std::string address;              // tcp: host:port
  std::vector<std::string> command; // exec: argv, exit 0 = OK
};

struct ProbesConfig {
  MetadataProbeConfig metadata;
  WorkloadCertsProbeConfig workloadCerts;
  MdsMtlsProbeConfig mdsMtls;
  std::vector<CustomProbeConfig> custom;
};

struct GuestAttributesConfig {
  bool enabled = true;
  std::string ns = "guestpulse";  // YAML key: namespace
  Duration heartbeat = std::chrono::seconds(60);
};

struct SerialConfig {
  bool enabled = true;
#ifdef _WIN32
  std::string device = "COM1";
#else
  std::string device = "/dev/ttyS0";
#endif
  Duration reminder = std::chrono::minutes(10);  // repeat a lasting failure at most this often
};

struct MetricsConfig {
  std::string listen;  // "" = off; otherwise host:port, e.g. 127.0.0.1:9464
};

struct ReportConfig {
  GuestAttributesConfig guestAttributes;
  SerialConfig serial;
#ifdef _WIN32
  std::string stateDir = "C:\\ProgramData\\guestpulse";
#else
  std::string stateDir = "/var/lib/guestpulse";
#endif
  MetricsConfig metrics;
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error | off
};

struct Config {
  Provider provider = Provider::Auto;
  MetadataConfig metadata;
  RetryConfig retry;
  ProbesConfig probes;
  ReportConfig report;
  LogConfig log;
};

// One problem found in a config file: the YAML path (e.g. "probes.metadata.interval"),
// the 1-based line (0 when unknown) and what is wrong.
struct ConfigProblem {
  std::string path;
  int line = 0;
  std::string message;
  std::string toString() const;  // "line 7: probes.metadata.interval: ..."
};

struct ConfigLoadResult {
  std::optional<Config> config;        // set only when problems is empty
  std::vector<ConfigProblem> problems;  // every problem, not just the first
};

// Parses and validates YAML text. Unknown keys are problems (a typo must not silently
// fall back to a default). Missing keys take the defaults above.
ConfigLoadResult parseConfig(const std::string& yamlText);

// Reads a file and parses it. A missing or unreadable file is a problem with path "".
ConfigLoadResult loadConfigFile(const std::string& filePath);

// Applies environment overrides that the providers' own libraries honour:
// GCE_METADATA_HOST=host[:port] replaces metadata.endpoint with http://host[:port].
void applyEnvironmentOverrides(Config& config);

std::string_view toString(Provider p);
std::string_view toString(Enablement e);

}  // namespace guestpulse
