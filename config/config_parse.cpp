// Reading the YAML tree into Config: structure, key names and value types. Ranges and
// formats are checked afterwards by validateConfig (config_validate.cpp) on the typed
// structs, with the lines collected here.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <system_error>
#include <type_traits>

#include "config/config.hpp"
#include "config/yaml_guard.hpp"

namespace guestpulse {
namespace {

using Keys = std::vector<std::string_view>;

struct ParseContext {
  std::vector<ConfigProblem> problems;
  ConfigLineMap lines;
  // Paths whose value was rejected here: validateConfig would only complain about the
  // default left in their place, so its problems at or under these paths are dropped.
  std::vector<std::string> rejected;

  void report(const std::string& path, int line, std::string message, bool reject = true) {
    problems.push_back({path, line, std::move(message)});
    if (reject) rejected.push_back(path);
  }
};

int lineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

std::string childPath(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string_view kindName(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "nothing";
  return "a single value";
}

// The whole text as a number: plain decimal only, no "0x", "inf", spaces or trailing junk.
template <class T>
std::optional<T> parseNumber(std::string_view text) {
  T value{};
  if constexpr (std::is_floating_point_v<T>) {
    // strtod, not from_chars: libstdc++'s from_chars for double is the one thing that
    // would link libm into the agent. The agent never calls setlocale, so strtod reads
    // the C locale's '.' everywhere; the character check keeps it to plain decimals.
    if (text.empty() || text.size() > 64 || text.front() == '+' ||
        text.find_first_not_of("0123456789.eE+-") != std::string_view::npos)
      return std::nullopt;
    const std::string copy(text);
    char* end = nullptr;
    errno = 0;
    value = std::strtod(copy.c_str(), &end);
    if (errno != 0 || end != copy.c_str() + copy.size() || !std::isfinite(value))
      return std::nullopt;
  } else {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  }
  return value;
}

struct Entry {
  std::string key;
  YAML::Node value;
  std::string path;
  int line = 0;  // of the key: where an operator looks for the setting
};

// One YAML mapping as the schema sees it. Keys it does not know, duplicates and
// non-scalar keys are reported once, when it is built; the typed getters report wrong
// kinds of values and leave the default in place.
class MapReader {
 public:
  MapReader(ParseContext& ctx, const YAML::Node& node, std::string path, int line, Keys known)
      : ctx_(ctx), path_(std::move(path)), line_(line) {
    if (!node.IsDefined() || node.IsNull()) return;  // an empty section keeps the defaults
    if (!node.IsMap()) {
      ctx_.report(path_, line_, "expected a mapping of keys, got " + std::string(kindName(node)));
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const int keyLine = lineOf(it->first) ? lineOf(it->first) : line_;
      if (!it->first.IsScalar()) {
        ctx_.report(path_, keyLine,
                    "keys must be plain names, got " + std::string(kindName(it->first)));
        continue;
      }
      Entry entry{it->first.Scalar(), it->second, childPath(path_, it->first.Scalar()), keyLine};
      if (const Entry* first = find(entry.key)) {
        ctx_.report(
            entry.path, keyLine,
            "duplicate key '" + entry.key + "' (first at line " + std::to_string(first->line) + ")",
            false);
        continue;
      }
      if (std::find(known.begin(), known.end(), entry.key) == known.end()) {
        std::string message = "unknown key '" + entry.key + "'";
        const std::string_view hint = closestMatch(entry.key, known);
        if (!hint.empty()) message += ", did you mean '" + std::string(hint) + "'?";
        ctx_.report(entry.path, keyLine, std::move(message), false);
        continue;
      }
      ctx_.lines[entry.path] = keyLine;
      entries_.push_back(std::move(entry));
    }
  }

  const Entry* find(std::string_view key) const {
    for (const Entry& e : entries_) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }

  ParseContext& ctx() const { return ctx_; }
  const std::string& path() const { return path_; }

  MapReader section(std::string_view key, Keys known) const {
    const Entry* e = find(key);
    if (e == nullptr) return MapReader(ctx_, YAML::Node(), childPath(path_, key), line_, {});
    return MapReader(ctx_, e->value, e->path, e->line, std::move(known));
  }

  void string(std::string_view key, std::string& out, bool nullIsEmpty = false) const {
    const Entry* e = find(key);
    if (e != nullptr && nullIsEmpty && e->value.IsNull()) {
      out.clear();
      return;
    }
    if (const Entry* s = scalar(key, "a string")) out = s->value.Scalar();
  }

  // Reads key's single value with parse (text -> optional<T>); a value it rejects is
  // reported (by describe, or as "expected ..., got '...'") and the default is kept.
  template <class T, class Parse>
  void value(std::string_view key, T& out, std::string_view expected, Parse parse,
             std::string (*describe)(std::string_view) = nullptr) const {
    const Entry* e = scalar(key, expected);
    if (e == nullptr) return;
    const std::string& text = e->value.Scalar();
    if (auto parsed = parse(text)) {
      out = *parsed;
    } else {
      reject(*e, describe ? describe(text)
                          : "expected " + std::string(expected) + ", got '" + text + "'");
    }
  }

  void boolean(std::string_view key, bool& out) const {
    value(key, out, "true or false", parseYamlBool);
  }
  void enablement(std::string_view key, Enablement& out) const {
    value(key, out, "true, false or auto", parseEnablement);
  }
  void duration(std::string_view key, Duration& out) const {
    value(key, out, "a duration such as 30s", parseDuration, describeDurationError);
  }
  void integer(std::string_view key, int& out) const {
    value(key, out, "a whole number", parseNumber<int>);
  }
  void number(std::string_view key, double& out) const {
    value(key, out, "a number", parseNumber<double>);
  }

  // The entry when key holds a single value; reports lists, mappings and empty values.
  const Entry* scalar(std::string_view key, std::string_view expected) const {
    const Entry* e = find(key);
    if (e == nullptr) return nullptr;
    if (e->value.IsNull()) {
      reject(*e, "has no value; expected " + std::string(expected));
      return nullptr;
    }
    if (!e->value.IsScalar()) {
      reject(*e, "expected " + std::string(expected) + ", got " + std::string(kindName(e->value)));
      return nullptr;
    }
    return e;
  }

  void reject(const Entry& e, std::string message) const {
    ctx_.report(e.path, e.line, std::move(message));
  }

 private:
  ParseContext& ctx_;
  std::string path_;
  int line_;
  std::vector<Entry> entries_;
};

const Keys kProbeKeys = {"name", "type",          "interval", "timeout",
                         "url",  "expect_status", "address",  "command"};

// Which of kProbeKeys belong to one type only, and to which.
std::optional<CustomProbeKind> keyOwner(std::string_view key) {
  if (key == "url" || key == "expect_status") return CustomProbeKind::Http;
  if (key == "address") return CustomProbeKind::Tcp;
  if (key == "command") return CustomProbeKind::Exec;
  return std::nullopt;
}

void readCommand(const MapReader& r, std::vector<std::string>& out) {
  const Entry* e = r.find("command");
  if (e == nullptr) return;
  if (!e->value.IsSequence()) {
    r.reject(*e,
             "expected a list of strings (the program and its arguments), e.g. "
             "[\"/usr/local/bin/check\", \"--quick\"]");
    return;
  }
  out.clear();
  for (std::size_t i = 0; i < e->value.size(); ++i) {
    const YAML::Node item = e->value[i];
    const std::string path = e->path + "[" + std::to_string(i) + "]";
    if (!item.IsScalar()) {
      r.ctx().report(path, lineOf(item) ? lineOf(item) : e->line,
                     "expected a string, got " + std::string(kindName(item)));
      r.ctx().rejected.push_back(e->path);  // the list as a whole is already wrong
      continue;
    }
    out.push_back(item.Scalar());
  }
}

CustomProbeConfig readCustomProbe(ParseContext& ctx, const YAML::Node& node,
                                  const std::string& path, int line) {
  CustomProbeConfig probe;
  // MapReader keeps the defaults for an empty section; an empty list item ("-" and
  // nothing after it) is not a probe with default settings, it is a mistake.
  if (!node.IsDefined() || node.IsNull()) {
    ctx.report(path, line, "an empty list item; a custom probe is a mapping with name and type");
    return probe;
  }
  MapReader r(ctx, node, path, line, kProbeKeys);
  r.string("name", probe.name);
  std::optional<CustomProbeKind> kind;
  r.value("type", kind, "http, tcp or exec", [](std::string_view text) {
    std::optional<std::optional<CustomProbeKind>> result;  // empty = not a type
    if (std::optional<CustomProbeKind> k = parseCustomProbeKind(text)) result = k;
    return result;
  });
  if (r.find("type") == nullptr && node.IsMap()) {
    ctx.report(path + ".type", line, "type is required: http, tcp or exec");
  }
  probe.kind = kind.value_or(CustomProbeKind::Http);
  for (std::string_view key : {"url", "expect_status", "address", "command"}) {
    if (!kind) {
      ctx.rejected.push_back(childPath(path, key));  // cannot be judged without a type
      continue;
    }
    const Entry* e = r.find(key);
    const std::optional<CustomProbeKind> owner = keyOwner(key);
    if (e != nullptr && owner && *owner != *kind) {
      const std::string_view article = *kind == CustomProbeKind::Tcp ? "a" : "an";
      r.reject(*e, "'" + e->key + "' does not apply to " + std::string(article) + " " +
                       std::string(toString(*kind)) + " probe (it is for " +
                       std::string(toString(*owner)) + " probes)");
    }
  }
  r.duration("interval", probe.interval);
  r.duration("timeout", probe.timeout);
  r.string("url", probe.url);
  r.integer("expect_status", probe.expectStatus);
  r.string("address", probe.address);
  readCommand(r, probe.command);
  if (!node.IsMap()) ctx.rejected.push_back(path);  // already reported by the reader
  return probe;
}

void readProbes(const MapReader& root, ProbesConfig& out) {
  const MapReader probes =
      root.section("probes", {"metadata", "workload_certs", "mds_mtls", "service_proxy", "custom"});

  const MapReader metadata = probes.section("metadata", {"enabled", "interval"});
  metadata.boolean("enabled", out.metadata.enabled);
  metadata.duration("interval", out.metadata.interval);

  const MapReader certs =
      probes.section("workload_certs", {"enabled", "interval", "credentials_dir"});
  certs.enablement("enabled", out.workloadCerts.enabled);
  certs.duration("interval", out.workloadCerts.interval);
  certs.string("credentials_dir", out.workloadCerts.credentialsDir);

  const MapReader mtls =
      probes.section("mds_mtls", {"enabled", "interval", "root_ca", "client_cert", "port"});
  mtls.enablement("enabled", out.mdsMtls.enabled);
  mtls.duration("interval", out.mdsMtls.interval);
  mtls.string("root_ca", out.mdsMtls.rootCa);
  mtls.string("client_cert", out.mdsMtls.clientCert);
  mtls.integer("port", out.mdsMtls.port);

  const MapReader proxy =
      probes.section("service_proxy", {"enabled", "interval", "envoy_admin", "heartbeat_stale",
                                       "bootstrap_grace", "control_plane"});
  proxy.enablement("enabled", out.serviceProxy.enabled);
  proxy.duration("interval", out.serviceProxy.interval);
  proxy.string("envoy_admin", out.serviceProxy.envoyAdmin);
  proxy.duration("heartbeat_stale", out.serviceProxy.heartbeatStale);
  proxy.duration("bootstrap_grace", out.serviceProxy.bootstrapGrace);
  proxy.string("control_plane", out.serviceProxy.controlPlane);

  const Entry* custom = probes.find("custom");
  if (custom == nullptr || custom->value.IsNull()) return;
  if (!custom->value.IsSequence()) {
    probes.reject(*custom,
                  "expected a list of probes, got " + std::string(kindName(custom->value)));
    return;
  }
  for (std::size_t i = 0; i < custom->value.size(); ++i) {
    const YAML::Node item = custom->value[i];
    const std::string path = custom->path + "[" + std::to_string(i) + "]";
    const int line = lineOf(item) ? lineOf(item) : custom->line;
    probes.ctx().lines[path] = line;
    out.custom.push_back(readCustomProbe(probes.ctx(), item, path, line));
  }
}

void readReport(const MapReader& root, ReportConfig& out) {
  const MapReader report =
      root.section("report", {"guest_attributes", "serial", "state_dir", "metrics"});
  const MapReader ga = report.section("guest_attributes", {"enabled", "namespace", "heartbeat"});
  ga.boolean("enabled", out.guestAttributes.enabled);
  ga.string("namespace", out.guestAttributes.ns);
  ga.duration("heartbeat", out.guestAttributes.heartbeat);

  const MapReader serial = report.section("serial", {"enabled", "device", "reminder"});
  serial.boolean("enabled", out.serial.enabled);
  serial.string("device", out.serial.device);
  serial.duration("reminder", out.serial.reminder);

  report.string("state_dir", out.stateDir);
  // "listen:" with nothing after it reads naturally as "off".
  report.section("metrics", {"listen"}).string("listen", out.metrics.listen, true);
}

void readConfig(ParseContext& ctx, const YAML::Node& doc, Config& config) {
  const MapReader root(ctx, doc, "", lineOf(doc),
                       {"provider", "detection", "metadata", "retry", "probes", "report", "log"});
  root.value("provider", config.provider, "auto, gce, ec2 or azure", parseProvider);
  const MapReader detection = root.section("detection", {"sysfs_root", "timeout"});
  detection.string("sysfs_root", config.detection.sysfsRoot);
  detection.duration("timeout", config.detection.timeout);
  const MapReader metadata = root.section("metadata", {"endpoint", "hostname", "timeout"});
  metadata.string("endpoint", config.metadata.endpoint);
  metadata.string("hostname", config.metadata.hostname);
  metadata.duration("timeout", config.metadata.timeout);

  const MapReader retry = root.section("retry", {"initial", "max", "multiplier", "attempts"});
  retry.duration("initial", config.retry.initial);
  retry.duration("max", config.retry.max);
  retry.number("multiplier", config.retry.multiplier);
  retry.integer("attempts", config.retry.attempts);

  readProbes(root, config.probes);
  readReport(root, config.report);
  root.section("log", {"level"}).string("level", config.log.level);
}

bool isAtOrUnder(const std::string& path, const std::string& prefix) {
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
}

}  // namespace

ConfigLoadResult parseConfig(const std::string& yamlText) {
  ConfigLoadResult result;
  ParseContext ctx;
  Config config;
  if (auto tooDeep = yamlNestingProblem(yamlText)) {
    result.problems.push_back(std::move(*tooDeep));
    return result;
  }
  try {
    YamlDocuments documents = scanYamlDocuments(yamlText);
    if (documents.stuck) {
      result.problems.push_back(std::move(*documents.stuck));
      return result;
    }
    if (documents.secondLine)
      ctx.report("", *documents.secondLine, "more than one YAML document ('---'); a config is one",
                 false);
    readConfig(ctx, YAML::Load(yamlText), config);
  } catch (const YAML::Exception& e) {
    result.problems.push_back(
        {"", e.mark.is_null() ? 0 : e.mark.line + 1, "YAML syntax error: " + e.msg});
    return result;
  } catch (const std::exception& e) {
    result.problems.push_back({"", 0, std::string("cannot read the YAML: ") + e.what()});
    return result;
  }

  for (ConfigProblem& p : validateConfig(config, ctx.lines)) {
    const bool dup = std::any_of(ctx.rejected.begin(), ctx.rejected.end(),
                                 [&](const std::string& r) { return isAtOrUnder(p.path, r); });
    if (!dup) ctx.problems.push_back(std::move(p));
  }
  // Problems read in file order; problems without a line (whole-file ones) come first.
  std::stable_sort(ctx.problems.begin(), ctx.problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
  result.problems = std::move(ctx.problems);
  if (result.problems.empty()) result.config = std::move(config);
  return result;
}

}  // namespace guestpulse
