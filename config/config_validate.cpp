// Checks on the typed Config: ranges, formats, required fields and unique names. Works
// on the structs, not the YAML, so a Config changed after loading can be checked too.

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <boost/url.hpp>
#include <charconv>
#include <cmath>
#include <map>

#include "config/config.hpp"

namespace guestpulse {
namespace {

using namespace std::chrono_literals;

bool matchesName(std::string_view s, std::size_t maxLength, bool allowUpper) {
  if (s.empty() || s.size() > maxLength) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           (allowUpper && c >= 'A' && c <= 'Z');
  });
}

// DNS-style: dot-separated labels of letters, digits, '-' and '_' (seen in internal
// names), none empty or longer than 63, no label starting or ending with '-'.
bool isHostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view label =
        s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (!matchesName(label, 63, true) || label.front() == '-' || label.back() == '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// "" when `port` is a number in 1..65535, else why not.
std::string portProblem(std::string_view port) {
  int value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    return "port '" + std::string(port) + "' must be a number from 1 to 65535";
  }
  return {};
}

// "" when `text` is host:port (host a name, an IPv4 address or a bracketed IPv6 address).
std::string hostPortProblem(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return "is empty; expected host:port, e.g. 127.0.0.1:9464";
  std::string_view host, port;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return quoted + " has no closing ']'";
    host = text.substr(1, close - 1);
    if (!boost::urls::parse_ipv6_address(host)) return quoted + ": not an IPv6 address in []";
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return quoted + " needs a port: [address]:port";
    }
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return quoted + " needs a port: host:port";
    if (text.find(':') != colon) return quoted + ": write an IPv6 address in brackets, [::1]:9464";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) return quoted + " needs a host; use 0.0.0.0:PORT for every interface";
    if (!isHostname(host)) return quoted + ": '" + std::string(host) + "' is not a host name";
  }
  const std::string bad = portProblem(port);
  return bad.empty() ? bad : quoted + ": " + bad;
}

// "" when `text` is an absolute http(s) URL with a host; `allowPath` also allows a path
// and query (probe URLs), otherwise nothing may follow host[:port] (the endpoint).
std::string urlProblem(std::string_view text, bool allowPath) {
  const std::string quoted = "'" + std::string(text) + "'";
  const std::string shape = allowPath ? "http(s)://host[:port]/path" : "http(s)://host[:port]";
  if (text.empty()) return "is empty; expected " + shape;
  if (text.find("://") == std::string_view::npos) {
    return quoted + " needs a scheme: http://" + std::string(text);
  }
  const auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return quoted + " is not a URL; expected " + shape;
  const boost::urls::url_view url = *parsed;
  if (url.scheme_id() != boost::urls::scheme::http &&
      url.scheme_id() != boost::urls::scheme::https) {
    return quoted + " must start with http:// or https://";
  }
  if (!url.has_authority() || url.encoded_host().empty()) return quoted + " has no host";
  if (url.has_userinfo()) return quoted + " must not contain user:password@";
  if (url.host_type() == boost::urls::host_type::name &&
      !isHostname(std::string_view(url.encoded_host()))) {
    return quoted + ": '" + std::string(url.encoded_host()) + "' is not a host name";
  }
  if (url.host_type() == boost::urls::host_type::ipvfuture) return quoted + " has an unusable host";
  if (url.has_port()) {
    const std::string bad = portProblem(url.port());
    if (!bad.empty()) return quoted + ": " + bad;
  }
  if (url.has_fragment()) return quoted + " must not have a #fragment";
  if (!allowPath && (!url.encoded_path().empty() || url.has_query())) {
    return quoted + " must end at host[:port] (no path or query); use " +
           std::string(url.scheme()) + "://" + std::string(url.encoded_host_and_port());
  }
  return {};
}

class Checker {
 public:
  explicit Checker(const ConfigLineMap& lines) : lines_(lines) {}

  void problem(const std::string& path, std::string message) {
    problems_.push_back({path, lineOf(path), std::move(message)});
  }
  void check(bool ok, const std::string& path, std::string message) {
    if (!ok) problem(path, std::move(message));
  }
  void unless(const std::string& path, std::string message) {  // message "" = fine
    if (!message.empty()) problem(path, std::move(message));
  }
  void atLeast(const std::string& path, Duration d, Duration min) {
    check(d >= min, path,
          "must be at least " + formatConfigDuration(min) + ", got " + formatConfigDuration(d));
  }
  void timeout(const std::string& path, Duration d) {
    check(d > 0ms && d <= 60s, path,
          "must be more than 0s and at most 1m, got " + formatConfigDuration(d));
  }
  void notEmpty(const std::string& path, const std::string& value) {
    check(!value.empty(), path, "must not be empty");
  }

  std::vector<ConfigProblem> take() { return std::move(problems_); }

 private:
  // The line of the path, or of its nearest ancestor that was written in the file.
  int lineOf(std::string path) const {
    while (true) {
      if (auto it = lines_.find(path); it != lines_.end()) return it->second;
      const std::size_t cut = path.find_last_of(".[");
      if (path.empty()) return 0;
      path.resize(cut == std::string::npos ? 0 : cut);
    }
  }

  const ConfigLineMap& lines_;
  std::vector<ConfigProblem> problems_;
};

void checkCustomProbes(Checker& c, const std::vector<CustomProbeConfig>& probes) {
  static constexpr std::array<std::string_view, 4> kBuiltIn = {"metadata", "workload_certs",
                                                               "mds_mtls", "service_proxy"};
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const CustomProbeConfig& p = probes[i];
    const std::string path = "probes.custom[" + std::to_string(i) + "]";
    if (p.name.empty()) {
      c.problem(path + ".name", "name is required: [a-z0-9_-], at most 32 characters");
    } else if (!matchesName(p.name, 32, false)) {
      c.problem(path + ".name", "'" + p.name + "' must be 1 to 32 of a-z, 0-9, '_' and '-'");
    } else if (std::find(kBuiltIn.begin(), kBuiltIn.end(), p.name) != kBuiltIn.end()) {
      c.problem(path + ".name", "'" + p.name + "' is the name of a built-in probe");
    } else if (auto [it, fresh] = seen.emplace(p.name, i); !fresh) {
      c.problem(path + ".name", "duplicate probe name '" + p.name + "' (also probes.custom[" +
                                    std::to_string(it->second) + "])");
    }
    c.atLeast(path + ".interval", p.interval, 1s);
    c.timeout(path + ".timeout", p.timeout);
    switch (p.kind) {
      case CustomProbeKind::Http:
        if (p.url.empty()) {
          c.problem(path + ".url", "url is required for an http probe");
        } else {
          c.unless(path + ".url", urlProblem(p.url, true));
        }
        c.check(p.expectStatus >= 100 && p.expectStatus <= 599, path + ".expect_status",
                "must be an HTTP status from 100 to 599, got " + std::to_string(p.expectStatus));
        break;
      case CustomProbeKind::Tcp:
        if (p.address.empty()) {
          c.problem(path + ".address", "address is required for a tcp probe: host:port");
        } else {
          c.unless(path + ".address", hostPortProblem(p.address));
        }
        break;
      case CustomProbeKind::Exec:
        if (p.command.empty()) {
          c.problem(path + ".command",
                    "command is required for an exec probe: a list such as [\"/usr/bin/true\"]");
        } else {
          c.check(!p.command.front().empty(), path + ".command[0]",
                  "the program must not be empty");
        }
        break;
    }
  }
}

}  // namespace

std::vector<ConfigProblem> validateConfig(const Config& config, const ConfigLineMap& lines) {
  Checker c(lines);

  c.check(config.detection.sysfsRoot.starts_with('/'), "detection.sysfs_root",
          "'" + config.detection.sysfsRoot + "' must be an absolute path, e.g. /sys");
  c.check(config.detection.timeout > 0ms && config.detection.timeout <= 10s, "detection.timeout",
          "must be more than 0s and at most 10s, got " +
              formatConfigDuration(config.detection.timeout));

  const MetadataConfig& md = config.metadata;
  c.unless("metadata.endpoint", urlProblem(md.endpoint, false));
  c.check(isHostname(md.hostname), "metadata.hostname",
          "'" + md.hostname + "' is not a host name, e.g. metadata.google.internal");
  c.timeout("metadata.timeout", md.timeout);

  const RetryConfig& retry = config.retry;
  c.check(retry.initial > 0ms, "retry.initial", "must be more than 0s");
  c.check(retry.max >= retry.initial, "retry.max",
          "must be at least retry.initial (" + formatConfigDuration(retry.initial) + "), got " +
              formatConfigDuration(retry.max));
  c.check(std::isfinite(retry.multiplier) && retry.multiplier >= 1 && retry.multiplier <= 10,
          "retry.multiplier", "must be from 1 to 10, got " + fmt::format("{}", retry.multiplier));
  c.check(retry.attempts >= 1 && retry.attempts <= 20, "retry.attempts",
          "must be from 1 to 20, got " + std::to_string(retry.attempts));

  const ProbesConfig& probes = config.probes;
  c.atLeast("probes.metadata.interval", probes.metadata.interval, 1s);
  c.atLeast("probes.workload_certs.interval", probes.workloadCerts.interval, 1s);
  c.notEmpty("probes.workload_certs.credentials_dir", probes.workloadCerts.credentialsDir);
  c.atLeast("probes.mds_mtls.interval", probes.mdsMtls.interval, 1s);
  c.notEmpty("probes.mds_mtls.root_ca", probes.mdsMtls.rootCa);
  c.notEmpty("probes.mds_mtls.client_cert", probes.mdsMtls.clientCert);
  c.check(probes.mdsMtls.port >= 1 && probes.mdsMtls.port <= 65535, "probes.mds_mtls.port",
          "must be a TCP port from 1 to 65535, got " + std::to_string(probes.mdsMtls.port));
  const ServiceProxyProbeConfig& proxy = probes.serviceProxy;
  c.atLeast("probes.service_proxy.interval", proxy.interval, 1s);
  c.unless("probes.service_proxy.envoy_admin", hostPortProblem(proxy.envoyAdmin));
  c.atLeast("probes.service_proxy.heartbeat_stale", proxy.heartbeatStale, 30s);
  c.atLeast("probes.service_proxy.bootstrap_grace", proxy.bootstrapGrace, 1s);
  c.unless("probes.service_proxy.control_plane", hostPortProblem(proxy.controlPlane));
  checkCustomProbes(c, probes.custom);

  const ReportConfig& report = config.report;
  c.check(matchesName(report.guestAttributes.ns, 64, true), "report.guest_attributes.namespace",
          "'" + report.guestAttributes.ns + "' must be 1 to 64 of A-Z, a-z, 0-9, '_' and '-'");
  c.atLeast("report.guest_attributes.heartbeat", report.guestAttributes.heartbeat, 10s);
  c.notEmpty("report.serial.device", report.serial.device);
  c.atLeast("report.serial.reminder", report.serial.reminder, 1min);
  c.notEmpty("report.state_dir", report.stateDir);
  if (!report.metrics.listen.empty()) {
    c.unless("report.metrics.listen", hostPortProblem(report.metrics.listen));
  }

  static constexpr std::array<std::string_view, 6> kLevels = {"trace", "debug", "info",
                                                              "warn",  "error", "off"};
  c.check(std::find(kLevels.begin(), kLevels.end(), config.log.level) != kLevels.end(), "log.level",
          "expected trace, debug, info, warn, error or off, got '" + config.log.level + "'");
  return c.take();
}

}  // namespace guestpulse
