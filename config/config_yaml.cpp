// The effective config printed back as YAML (`guestpulse config show`). Written by hand
// rather than with YAML::Emitter so the layout matches config/guestpulse.yaml.

#include <fmt/format.h>
#include <algorithm>
#include <cstdio>

#include "config/config.hpp"

namespace guestpulse {
namespace {

bool isPlainSafe(std::string_view s) {
  if (s.empty()) return false;
  // Words YAML reads as null must stay strings; booleans and numbers need no quotes
  // because the reader takes every string-typed value as written.
  for (std::string_view nullWord : {"null", "Null", "NULL"}) {
    if (s == nullWord) return false;
  }
  const auto safe = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '/' || c == '\\' || c == '-' || c == ':' || c == '@' || c == '+' ||
           c == '%' || c == '=';
  };
  const char first = s.front();
  const bool firstOk = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') ||
                       (first >= '0' && first <= '9') || first == '/' || first == '.' ||
                       first == '_';
  // No ',', '[', '{', '#' or spaces: the same text must also work in a flow list.
  return firstOk && std::all_of(s.begin(), s.end(), safe);
}

// A string as a YAML scalar that reads back as exactly the same string.
std::string scalar(std::string_view s) {
  if (isPlainSafe(s)) return std::string(s);
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
          out += hex;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string boolean(bool b) { return b ? "true" : "false"; }

class Writer {
 public:
  void line(int indent, std::string_view key, std::string_view value = {}) {
    out_.append(static_cast<std::size_t>(indent) * 2, ' ');
    out_ += key;
    out_ += ':';
    if (!value.empty()) {
      out_ += ' ';
      out_ += value;
    }
    out_ += '\n';
  }
  void raw(std::string_view text) { out_ += text; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void writeCustomProbe(Writer& w, const CustomProbeConfig& p) {
  w.raw("    - name: " + scalar(p.name) + "\n");
  w.line(3, "type", toString(p.kind));
  w.line(3, "interval", formatConfigDuration(p.interval));
  w.line(3, "timeout", formatConfigDuration(p.timeout));
  switch (p.kind) {
    case CustomProbeKind::Http:
      w.line(3, "url", scalar(p.url));
      w.line(3, "expect_status", std::to_string(p.expectStatus));
      break;
    case CustomProbeKind::Tcp:
      w.line(3, "address", scalar(p.address));
      break;
    case CustomProbeKind::Exec: {
      std::string list = "[";
      for (std::size_t i = 0; i < p.command.size(); ++i) {
        list += (i ? ", " : "") + scalar(p.command[i]);
      }
      w.line(3, "command", list + "]");
      break;
    }
  }
}

}  // namespace

std::string toYaml(const Config& c) {
  Writer w;
  w.line(0, "provider", toString(c.provider));
  w.line(0, "detection");
  w.line(1, "sysfs_root", scalar(c.detection.sysfsRoot));
  w.line(1, "timeout", formatConfigDuration(c.detection.timeout));
  w.line(0, "metadata");
  w.line(1, "endpoint", scalar(c.metadata.endpoint));
  w.line(1, "hostname", scalar(c.metadata.hostname));
  w.line(1, "timeout", formatConfigDuration(c.metadata.timeout));
  w.line(0, "retry");
  w.line(1, "initial", formatConfigDuration(c.retry.initial));
  w.line(1, "max", formatConfigDuration(c.retry.max));
  w.line(1, "multiplier", fmt::format("{}", c.retry.multiplier));
  w.line(1, "attempts", std::to_string(c.retry.attempts));

  w.line(0, "probes");
  w.line(1, "metadata");
  w.line(2, "enabled", boolean(c.probes.metadata.enabled));
  w.line(2, "interval", formatConfigDuration(c.probes.metadata.interval));
  w.line(1, "workload_certs");
  w.line(2, "enabled", toString(c.probes.workloadCerts.enabled));
  w.line(2, "interval", formatConfigDuration(c.probes.workloadCerts.interval));
  w.line(2, "credentials_dir", scalar(c.probes.workloadCerts.credentialsDir));
  w.line(1, "mds_mtls");
  w.line(2, "enabled", toString(c.probes.mdsMtls.enabled));
  w.line(2, "interval", formatConfigDuration(c.probes.mdsMtls.interval));
  w.line(2, "root_ca", scalar(c.probes.mdsMtls.rootCa));
  w.line(2, "client_cert", scalar(c.probes.mdsMtls.clientCert));
  w.line(2, "port", std::to_string(c.probes.mdsMtls.port));
  const ServiceProxyProbeConfig& proxy = c.probes.serviceProxy;
  w.line(1, "service_proxy");
  w.line(2, "enabled", toString(proxy.enabled));
  w.line(2, "interval", formatConfigDuration(proxy.interval));
  w.line(2, "envoy_admin", scalar(proxy.envoyAdmin));
  w.line(2, "heartbeat_stale", formatConfigDuration(proxy.heartbeatStale));
  w.line(2, "bootstrap_grace", formatConfigDuration(proxy.bootstrapGrace));
  w.line(2, "control_plane", scalar(proxy.controlPlane));
  if (c.probes.custom.empty()) {
    w.line(1, "custom", "[]");
  } else {
    w.line(1, "custom");
    for (const CustomProbeConfig& p : c.probes.custom) writeCustomProbe(w, p);
  }

  w.line(0, "report");
  w.line(1, "guest_attributes");
  w.line(2, "enabled", boolean(c.report.guestAttributes.enabled));
  w.line(2, "namespace", scalar(c.report.guestAttributes.ns));
  w.line(2, "heartbeat", formatConfigDuration(c.report.guestAttributes.heartbeat));
  w.line(1, "serial");
  w.line(2, "enabled", boolean(c.report.serial.enabled));
  w.line(2, "device", scalar(c.report.serial.device));
  w.line(2, "reminder", formatConfigDuration(c.report.serial.reminder));
  w.line(1, "state_dir", scalar(c.report.stateDir));
  w.line(1, "metrics");
  w.line(2, "listen", scalar(c.report.metrics.listen));
  w.line(0, "log");
  w.line(1, "level", scalar(c.log.level));
  return w.take();
}

}  // namespace guestpulse
