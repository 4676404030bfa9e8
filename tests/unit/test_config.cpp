// The config loader: defaults, the shipped file and examples, every kind of problem with
// its YAML path and line, environment overrides and the YAML printer.

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "config/config.hpp"

namespace guestpulse {

using namespace std::chrono_literals;

namespace {

std::string describe(const ConfigLoadResult& r) {
  std::ostringstream out;
  for (const ConfigProblem& p : r.problems) out << p.toString() << "\n";
  return out.str();
}

// Parses text that must be valid and returns its config.
Config parseValid(const std::string& text) {
  const ConfigLoadResult r = parseConfig(text);
  INFO(describe(r));
  REQUIRE(r.problems.empty());
  REQUIRE(r.config.has_value());
  return *r.config;
}

// Parses text that must yield exactly one problem, and returns it.
ConfigProblem onlyProblem(const std::string& text) {
  const ConfigLoadResult r = parseConfig(text);
  INFO("yaml:\n" << text << "problems:\n" << describe(r));
  REQUIRE(r.problems.size() == 1);
  CHECK_FALSE(r.config.has_value());
  return r.problems.front();
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Every key path of a YAML mapping, e.g. "probes.metadata.interval".
void collectPaths(const YAML::Node& node, const std::string& prefix, std::set<std::string>& out) {
  if (!node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string path =
        prefix.empty() ? it->first.Scalar() : prefix + "." + it->first.Scalar();
    out.insert(path);
    collectPaths(it->second, path, out);
  }
}

// Sets an environment variable for one test and puts the old value back afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(old_ ? old_->c_str() : nullptr); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void set(const char* value) {
#ifdef _WIN32
    _putenv_s(name_.c_str(), value ? value : "");
#else
    if (value) {
      ::setenv(name_.c_str(), value, 1);
    } else {
      ::unsetenv(name_.c_str());
    }
#endif
  }
  std::string name_;
  std::optional<std::string> old_;
};

std::filesystem::path shippedConfigPath() { return GUESTPULSE_DEFAULT_CONFIG_YAML_PATH; }

}  // namespace

// ---- defaults, the shipped file, the examples ----

TEST_CASE("an empty or comment-only config means all defaults", "[config]") {
  CHECK(parseValid("") == Config{});
  CHECK(parseValid("\n\n") == Config{});
  CHECK(parseValid("# nothing here\n   # still nothing\n") == Config{});
  CHECK(parseValid("---\n") == Config{});
  CHECK(parseValid("~\n") == Config{});
}

TEST_CASE("empty sections keep their defaults", "[config]") {
  CHECK(parseValid("metadata:\nprobes:\n  metadata:\n  custom:\nreport: {}\n") == Config{});
}

TEST_CASE("the shipped config file equals the built-in defaults", "[config]") {
  const ConfigLoadResult r = loadConfigFile(shippedConfigPath().string());
  INFO(describe(r));
  REQUIRE(r.problems.empty());
  Config expected;
#ifdef _WIN32
  // The file documents the Linux values; Windows differs in exactly its paths.
  expected.report.serial.device = "/dev/ttyS0";
  expected.report.stateDir = "/var/lib/guestpulse";
  expected.probes.workloadCerts.credentialsDir = "/run/secrets/workload-spiffe-credentials";
  expected.probes.mdsMtls.rootCa = "/run/google-mds-mtls/root.crt";
  expected.probes.mdsMtls.clientCert = "/run/google-mds-mtls/client.key";
#endif
  CHECK(*r.config == expected);
}

// The file the Windows packages install leaves the paths to the defaults, so it equals
// the built-in defaults on every OS.
TEST_CASE("the Windows config file equals the built-in defaults", "[config]") {
  const auto path = shippedConfigPath().parent_path() / "examples" / "windows.yaml";
  const ConfigLoadResult r = loadConfigFile(path.string());
  INFO(describe(r));
  REQUIRE(r.problems.empty());
  CHECK(*r.config == Config{});
  // What it leaves out is written there as a comment.
  std::set<std::string> shipped;
  collectPaths(YAML::LoadFile(path.string()), "", shipped);
  CHECK(shipped.count("report.state_dir") == 0);
  CHECK(shipped.count("probes.metadata.interval") == 1);
}

TEST_CASE("the shipped config file spells out every key", "[config]") {
  std::set<std::string> shipped, all;
  collectPaths(YAML::LoadFile(shippedConfigPath().string()), "", shipped);
  collectPaths(YAML::Load(toYaml(Config{})), "", all);
  CHECK(shipped == all);
  CHECK(all.count("report.serial.reminder") == 1);
  CHECK(all.count("probes.mds_mtls.client_cert") == 1);
}

TEST_CASE("every example config validates", "[config]") {
  const std::filesystem::path dir = shippedConfigPath().parent_path() / "examples";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    const ConfigLoadResult r = loadConfigFile(entry.path().string());
    INFO(entry.path().filename().string() << "\n" << describe(r));
    CHECK(r.problems.empty());
    CHECK(r.config.has_value());
  }
  CHECK(count >= 3);
}

TEST_CASE("the EC2 and Azure examples pin their providers and validate", "[config]") {
  const std::filesystem::path dir = shippedConfigPath().parent_path() / "examples";
  for (const auto& [file, provider] :
       {std::pair{"ec2.yaml", Provider::Ec2}, std::pair{"azure.yaml", Provider::Azure}}) {
    const ConfigLoadResult r = loadConfigFile((dir / file).string());
    INFO(file << "\n" << describe(r));
    REQUIRE(r.problems.empty());
    CHECK(r.config->provider == provider);
    CHECK(r.config->metadata.endpoint == "http://169.254.169.254");
  }
}

// ---- reading values ----

TEST_CASE("every key is read into its struct member", "[config]") {
  const Config c = parseValid(R"(
provider: gce
metadata:
  endpoint: https://metadata.google.internal:443
  hostname: metadata.example.internal
  timeout: 1500ms
retry: {initial: 250ms, max: 2m, multiplier: 1.5, attempts: 7}
probes:
  metadata: {enabled: false, interval: 1m30s}
  workload_certs:
    enabled: true
    interval: 1h
    credentials_dir: /tmp/creds
  mds_mtls:
    enabled: no
    interval: 5m
    root_ca: /tmp/root.crt
    client_cert: /tmp/client.key
  custom:
    - name: web
      type: http
      url: http://127.0.0.1:8080/healthz?full=1
      expect_status: 204
      interval: 15s
      timeout: 3s
    - name: ssh
      type: tcp
      address: "[::1]:22"
    - name: disk
      type: exec
      command: [/usr/local/bin/check-disk, --min-free, "10%"]
report:
  guest_attributes: {enabled: off, namespace: My_Agent-1, heartbeat: 2m}
  serial: {enabled: false, device: /tmp/serial.log, reminder: 30m}
  state_dir: /tmp/state
  metrics: {listen: "127.0.0.1:9464"}
log: {level: debug}
)");
  CHECK(c.provider == Provider::Gce);
  CHECK(c.metadata.endpoint == "https://metadata.google.internal:443");
  CHECK(c.metadata.hostname == "metadata.example.internal");
  CHECK(c.metadata.timeout == 1500ms);
  CHECK(c.retry.initial == 250ms);
  CHECK(c.retry.max == 2min);
  CHECK(c.retry.multiplier == 1.5);
  CHECK(c.retry.attempts == 7);
  CHECK_FALSE(c.probes.metadata.enabled);
  CHECK(c.probes.metadata.interval == 90s);
  CHECK(c.probes.workloadCerts.enabled == Enablement::True);
  CHECK(c.probes.workloadCerts.interval == 1h);
  CHECK(c.probes.workloadCerts.credentialsDir == "/tmp/creds");
  CHECK(c.probes.mdsMtls.enabled == Enablement::False);
  CHECK(c.probes.mdsMtls.rootCa == "/tmp/root.crt");
  CHECK(c.probes.mdsMtls.clientCert == "/tmp/client.key");
  REQUIRE(c.probes.custom.size() == 3);
  CHECK(c.probes.custom[0].name == "web");
  CHECK(c.probes.custom[0].kind == CustomProbeKind::Http);
  CHECK(c.probes.custom[0].url == "http://127.0.0.1:8080/healthz?full=1");
  CHECK(c.probes.custom[0].expectStatus == 204);
  CHECK(c.probes.custom[0].interval == 15s);
  CHECK(c.probes.custom[0].timeout == 3s);
  CHECK(c.probes.custom[1].kind == CustomProbeKind::Tcp);
  CHECK(c.probes.custom[1].address == "[::1]:22");
  CHECK(c.probes.custom[1].interval == 60s);  // per-probe defaults
  CHECK(c.probes.custom[1].timeout == 5s);
  CHECK(c.probes.custom[2].kind == CustomProbeKind::Exec);
  CHECK(c.probes.custom[2].command ==
        std::vector<std::string>{"/usr/local/bin/check-disk", "--min-free", "10%"});
  CHECK_FALSE(c.report.guestAttributes.enabled);
  CHECK(c.report.guestAttributes.ns == "My_Agent-1");
  CHECK(c.report.guestAttributes.heartbeat == 2min);
  CHECK_FALSE(c.report.serial.enabled);
  CHECK(c.report.serial.device == "/tmp/serial.log");
  CHECK(c.report.serial.reminder == 30min);
  CHECK(c.report.stateDir == "/tmp/state");
  CHECK(c.report.metrics.listen == "127.0.0.1:9464");
  CHECK(c.log.level == "debug");
}

TEST_CASE("enabled takes true, false, auto and the YAML boolean spellings", "[config]") {
  const auto certs = [](const std::string& value) {
    return parseValid("probes:\n  workload_certs:\n    enabled: " + value + "\n")
        .probes.workloadCerts.enabled;
  };
  CHECK(certs("auto") == Enablement::Auto);
  CHECK(certs("true") == Enablement::True);
  CHECK(certs("True") == Enablement::True);
  CHECK(certs("yes") == Enablement::True);
  CHECK(certs("on") == Enablement::True);
  CHECK(certs("false") == Enablement::False);
  CHECK(certs("NO") == Enablement::False);
  CHECK(certs("off") == Enablement::False);
  const ConfigProblem p = onlyProblem("probes:\n  mds_mtls:\n    enabled: sometimes\n");
  CHECK(p.path == "probes.mds_mtls.enabled");
  CHECK(p.line == 3);
  CHECK(p.message == "expected true, false or auto, got 'sometimes'");
}

TEST_CASE("an empty metrics.listen means off", "[config]") {
  CHECK(parseValid("report:\n  metrics:\n    listen:\n").report.metrics.listen.empty());
  CHECK(parseValid("report:\n  metrics:\n    listen: ''\n").report.metrics.listen.empty());
}

// ---- problems: path, line, message ----

TEST_CASE("a duration without a unit names its path and line", "[config]") {
  const ConfigProblem p = onlyProblem("provider: auto\nprobes:\n  metadata:\n    interval: 30\n");
  CHECK(p.path == "probes.metadata.interval");
  CHECK(p.line == 4);
  CHECK(p.message == "'30' needs a unit: 500ms, 30s, 10m, 1h");
  CHECK(p.toString() == "line 4: probes.metadata.interval: '30' needs a unit: 500ms, 30s, 10m, 1h");
}

TEST_CASE("bad durations say what is wrong", "[config]") {
  const auto problemFor = [](const std::string& value) {
    return onlyProblem("metadata:\n  timeout: " + value + "\n");
  };
  CHECK(contains(problemFor("-1s").message, "negative"));
  CHECK(contains(problemFor("1.5s").message, "fraction"));
  CHECK(contains(problemFor("31d").message, "too long"));
  CHECK(contains(problemFor("soon").message, "'soon' is not a duration"));
  CHECK(problemFor("soon").path == "metadata.timeout");
  CHECK(problemFor("[1s]").message == "expected a duration such as 30s, got a list");
  CHECK(onlyProblem("metadata:\n  timeout:\n").message ==
        "has no value; expected a duration such as 30s");
}

TEST_CASE("values of the wrong type are problems", "[config]") {
  CHECK(onlyProblem("retry:\n  attempts: many\n").message == "expected a whole number, got 'many'");
  CHECK(onlyProblem("retry:\n  attempts: 5.5\n").message == "expected a whole number, got '5.5'");
  CHECK(onlyProblem("retry:\n  multiplier: double\n").message == "expected a number, got 'double'");
  CHECK(onlyProblem("retry:\n  multiplier: .nan\n").message == "expected a number, got '.nan'");
  // Plain decimals only, read the same whatever the locale.
  for (const char* text : {"0x2", "inf", "+2", "2,5", "1e400", "2 ", "1..5", "-"})
    CHECK(onlyProblem("retry:\n  multiplier: '" + std::string(text) + "'\n").message ==
          "expected a number, got '" + std::string(text) + "'");
  CHECK(parseValid("retry: {multiplier: 2.5e0}\n").retry.multiplier == 2.5);
  CHECK(parseValid("retry: {multiplier: 1.25}\n").retry.multiplier == 1.25);
  CHECK(onlyProblem("probes:\n  metadata:\n    enabled: maybe\n").message ==
        "expected true or false, got 'maybe'");
  CHECK(onlyProblem("metadata:\n  hostname: {a: b}\n").message ==
        "expected a string, got a mapping");

  const ConfigProblem section = onlyProblem("log: debug\n");
  CHECK(section.path == "log");
  CHECK(section.message == "expected a mapping of keys, got a single value");

  const ConfigProblem top = onlyProblem("- provider: gce\n");
  CHECK(top.path.empty());
  CHECK(top.line == 1);
  CHECK(top.message == "expected a mapping of keys, got a list");
}

TEST_CASE("enum values outside their set are problems", "[config]") {
  const ConfigProblem provider = onlyProblem("provider: gcp\n");
  CHECK(provider.path == "provider");
  CHECK(provider.message == "expected auto, gce, ec2 or azure, got 'gcp'");
  const ConfigProblem level = onlyProblem("log:\n  level: verbose\n");
  CHECK(level.path == "log.level");
  CHECK(level.line == 2);
  CHECK(contains(level.message, "trace, debug, info, warn, error or off"));
}

TEST_CASE("out-of-range values are problems", "[config]") {
  struct Case {
    std::string yaml;
    std::string path;
  };
  const std::vector<Case> cases = {
      {"probes:\n  metadata:\n    interval: 500ms\n", "probes.metadata.interval"},
      {"probes:\n  workload_certs:\n    interval: 0s\n", "probes.workload_certs.interval"},
      {"probes:\n  mds_mtls:\n    interval: 999ms\n", "probes.mds_mtls.interval"},
      {"metadata:\n  timeout: 0s\n", "metadata.timeout"},
      {"metadata:\n  timeout: 61s\n", "metadata.timeout"},
      {"retry:\n  initial: 0s\n", "retry.initial"},
      {"retry:\n  initial: 5s\n  max: 2s\n", "retry.max"},
      {"retry:\n  multiplier: 0.5\n", "retry.multiplier"},
      {"retry:\n  multiplier: 10.5\n", "retry.multiplier"},
      {"retry:\n  attempts: 0\n", "retry.attempts"},
      {"retry:\n  attempts: 21\n", "retry.attempts"},
      {"report:\n  guest_attributes:\n    heartbeat: 9s\n", "report.guest_attributes.heartbeat"},
      {"report:\n  serial:\n    reminder: 59s\n", "report.serial.reminder"},
      {"report:\n  serial:\n    device: ''\n", "report.serial.device"},
      {"report:\n  state_dir: ''\n", "report.state_dir"},
      {"probes:\n  workload_certs:\n    credentials_dir: ''\n",
       "probes.workload_certs.credentials_dir"},
  };
  for (const Case& c : cases) {
    const ConfigProblem p = onlyProblem(c.yaml);
    CHECK(p.path == c.path);
    CHECK(p.line == static_cast<int>(std::count(c.yaml.begin(), c.yaml.end(), '\n')));
  }
  CHECK(onlyProblem("probes:\n  metadata:\n    interval: 500ms\n").message ==
        "must be at least 1s, got 500ms");
  CHECK(onlyProblem("retry:\n  initial: 5s\n  max: 2s\n").message ==
        "must be at least retry.initial (5s), got 2s");
  CHECK(onlyProblem("retry:\n  multiplier: 0.5\n").message == "must be from 1 to 10, got 0.5");
  // The limits themselves are allowed.
  parseValid(
      "metadata: {timeout: 60s}\nretry: {initial: 1ms, max: 1ms, multiplier: 10, attempts: 20}\n"
      "probes: {metadata: {interval: 1s}}\n"
      "report: {guest_attributes: {heartbeat: 10s}, serial: {reminder: 1m}}\n");
  parseValid("retry: {multiplier: 1, attempts: 1}\n");
}

TEST_CASE("metadata.endpoint must be http(s)://host[:port] without a path", "[config]") {
  for (const char* good :
       {"http://169.254.169.254", "https://metadata.google.internal", "http://127.0.0.1:8080",
        "http://[::1]:8080", "HTTP://localhost:80", "http://fake-mds"}) {
    INFO(good);
    CHECK(parseValid(std::string("metadata:\n  endpoint: '") + good + "'\n").metadata.endpoint ==
          good);
  }
  for (const char* bad :
       {"169.254.169.254", "localhost:8080", "ftp://169.254.169.254", "http://169.254.169.254/",
        "http://169.254.169.254/computeMetadata/v1", "http://host:99999", "http://host:0",
        "http://host:", "http://user@host", "http://host?x=1", "http://host#frag", "http://",
        "http://bad_host!:80", "", "http://host name"}) {
    const ConfigProblem p = onlyProblem(std::string("\nmetadata:\n  endpoint: '") + bad + "'\n");
    INFO(bad << " -> " << p.message);
    CHECK(p.path == "metadata.endpoint");
    CHECK(p.line == 3);
  }
  CHECK(onlyProblem("metadata:\n  endpoint: http://169.254.169.254/computeMetadata/v1\n").message ==
        "'http://169.254.169.254/computeMetadata/v1' must end at host[:port] (no path or "
        "query); use http://169.254.169.254");
  CHECK(onlyProblem("metadata:\n  endpoint: 169.254.169.254\n").message ==
        "'169.254.169.254' needs a scheme: http://169.254.169.254");
  CHECK(contains(onlyProblem("metadata:\n  endpoint: ftp://x\n").message, "http:// or https://"));
}

TEST_CASE("metadata.hostname must be a host name", "[config]") {
  CHECK(onlyProblem("metadata:\n  hostname: 'not a host'\n").path == "metadata.hostname");
  CHECK(onlyProblem("metadata:\n  hostname: ''\n").path == "metadata.hostname");
}

TEST_CASE("metrics.listen must be empty or host:port", "[config]") {
  for (const char* good : {"127.0.0.1:9464", "localhost:9464", "[::1]:9464", "0.0.0.0:1"}) {
    INFO(good);
    parseValid(std::string("report:\n  metrics:\n    listen: '") + good + "'\n");
  }
  for (const char* bad : {"9464", ":9464", "::1:9464", "localhost:", "localhost:http",
                          "127.0.0.1:65536", "[::1]", "[nope]:80", "a b:80"}) {
    const ConfigProblem p =
        onlyProblem(std::string("report:\n  metrics:\n    listen: '") + bad + "'\n");
    INFO(bad << " -> " << p.message);
    CHECK(p.path == "report.metrics.listen");
    CHECK(p.line == 3);
  }
}

TEST_CASE("the guest attribute namespace is checked", "[config]") {
  parseValid("report:\n  guest_attributes:\n    namespace: " + std::string(64, 'a') + "\n");
  for (const std::string& bad : {std::string(65, 'a'), std::string("guest pulse"),
                                 std::string("guest/pulse"), std::string("''")}) {
    const ConfigProblem p =
        onlyProblem("report:\n  guest_attributes:\n    namespace: " + bad + "\n");
    CHECK(p.path == "report.guest_attributes.namespace");
    CHECK(p.line == 3);
  }
}

// ---- custom probes ----

namespace {

// The problems of a config whose only content is the given custom probe list.
ConfigLoadResult parseCustom(const std::string& items) {
  return parseConfig("probes:\n  custom:\n" + items);
}

}  // namespace

TEST_CASE("custom probe problems name the list index and line", "[config]") {
  const ConfigLoadResult r = parseCustom(
      "    - name: ok\n"          // 3
      "      type: tcp\n"         // 4
      "      address: db:5432\n"  // 5
      "    - name: Bad-Name\n"    // 6  [1]
      "      type: exec\n"        // 7
      "      command: [/bin/true]\n"
      "    - name: web\n"          // 9  [2]
      "      type: http\n"         // 10
      "      url: ftp://x/\n"      // 11
      "      expect_status: 99\n"  // 12
      "    - name: web\n"          // 13 [3]
      "      type: tcp\n"          // 14
      "    - name: metadata\n"     // 15 [4]
      "      type: exec\n"         // 16
      "      command: []\n");      // 17
  INFO(describe(r));
  REQUIRE(r.problems.size() == 7);
  const auto& p = r.problems;
  CHECK(p[0].path == "probes.custom[1].name");
  CHECK(p[0].line == 6);
  CHECK(p[1].path == "probes.custom[2].url");
  CHECK(p[1].line == 11);
  CHECK(p[2].path == "probes.custom[2].expect_status");
  CHECK(p[2].line == 12);
  CHECK(p[3].path == "probes.custom[3].name");
  CHECK(p[3].line == 13);
  CHECK(p[3].message == "duplicate probe name 'web' (also probes.custom[2])");
  CHECK(p[4].path == "probes.custom[3].address");  // required, missing: the item's line
  CHECK(p[4].line == 13);
  CHECK(p[5].path == "probes.custom[4].name");
  CHECK(p[5].message == "'metadata' is the name of a built-in probe");
  CHECK(p[6].path == "probes.custom[4].command");
  CHECK(p[6].line == 17);
}

TEST_CASE("custom probes need a type and the fields of that type", "[config]") {
  const ConfigProblem noType =
      onlyProblem("probes:\n  custom:\n    - name: x\n      url: http://a\n");
  CHECK(noType.path == "probes.custom[0].type");
  CHECK(noType.line == 3);
  CHECK(noType.message == "type is required: http, tcp or exec");

  const ConfigProblem badType = onlyProblem("probes:\n  custom:\n    - {name: x, type: udp}\n");
  CHECK(badType.path == "probes.custom[0].type");
  CHECK(badType.message == "expected http, tcp or exec, got 'udp'");

  CHECK(onlyProblem("probes:\n  custom:\n    - {name: x, type: http}\n").message ==
        "url is required for an http probe");
  CHECK(onlyProblem("probes:\n  custom:\n    - {type: http, url: 'http://a'}\n").path ==
        "probes.custom[0].name");

  const ConfigProblem foreign = onlyProblem(
      "probes:\n  custom:\n    - name: x\n      type: http\n      url: http://a\n"
      "      address: a:1\n");
  CHECK(foreign.path == "probes.custom[0].address");
  CHECK(foreign.line == 6);
  CHECK(foreign.message == "'address' does not apply to an http probe (it is for tcp probes)");

  const ConfigProblem scalarCommand =
      onlyProblem("probes:\n  custom:\n    - {name: x, type: exec, command: /bin/true}\n");
  CHECK(scalarCommand.path == "probes.custom[0].command");
  CHECK(contains(scalarCommand.message, "expected a list of strings"));

  CHECK(onlyProblem("probes:\n  custom:\n    - {name: x, type: exec, command: ['']}\n").path ==
        "probes.custom[0].command[0]");
  CHECK(onlyProblem("probes:\n  custom:\n    - {name: x, type: exec, command: [[a]]}\n").path ==
        "probes.custom[0].command[0]");
  CHECK(onlyProblem("probes:\n  custom:\n    - {name: x, type: tcp, address: 'a:1', timeout: 2m}\n")
            .path == "probes.custom[0].timeout");
  CHECK(
      onlyProblem("probes:\n  custom:\n    - {name: x, type: tcp, address: 'a:1', interval: 0s}\n")
          .path == "probes.custom[0].interval");
  CHECK(onlyProblem("probes:\n  custom:\n    - {name: x, type: tcp, address: 'nope'}\n").path ==
        "probes.custom[0].address");
  CHECK(onlyProblem("probes:\n  custom:\n    - just-a-name\n").message ==
        "expected a mapping of keys, got a single value");
  CHECK(onlyProblem("probes:\n  custom: {name: x}\n").message ==
        "expected a list of probes, got a mapping");
  CHECK(onlyProblem("probes:\n  custom:\n    - {name: " + std::string(33, 'a') +
                    ", type: tcp, address: 'a:1'}\n")
            .path == "probes.custom[0].name");
}

// ---- unknown keys, duplicates, syntax, several problems ----

TEST_CASE("unknown keys are problems, with a suggestion when one is close", "[config]") {
  const ConfigProblem typo = onlyProblem("probes:\n  metadata:\n    intervall: 30s\n");
  CHECK(typo.path == "probes.metadata.intervall");
  CHECK(typo.line == 3);
  CHECK(typo.message == "unknown key 'intervall', did you mean 'interval'?");
  CHECK(onlyProblem("report:\n  guest_attributes:\n    name_space: x\n").message ==
        "unknown key 'name_space', did you mean 'namespace'?");
  CHECK(onlyProblem("probes:\n  workload_certs:\n    credentialsDir: /x\n").message ==
        "unknown key 'credentialsDir', did you mean 'credentials_dir'?");
  CHECK(onlyProblem("probes:\n  custom:\n    - {name: x, type: http, url: 'http://a', "
                    "expect-status: 200}\n")
            .message == "unknown key 'expect-status', did you mean 'expect_status'?");
  CHECK(onlyProblem("colour: red\n").message == "unknown key 'colour'");
  CHECK(onlyProblem("retry:\n  timeout: 1s\n").message == "unknown key 'timeout'");
}

TEST_CASE("a key given twice is a problem", "[config]") {
  const ConfigProblem p = onlyProblem("log:\n  level: info\n  level: debug\n");
  CHECK(p.path == "log.level");
  CHECK(p.line == 3);
  CHECK(p.message == "duplicate key 'level' (first at line 2)");
}

TEST_CASE("a YAML syntax error is one problem at the line yaml-cpp reports", "[config]") {
  const ConfigProblem p = onlyProblem("provider: auto\nmetadata:\n  timeout: 2s\n   hostname: x\n");
  CHECK(p.path.empty());
  CHECK(p.line == 4);
  CHECK(contains(p.message, "YAML syntax error"));
  CHECK(onlyProblem("provider: auto\nretry: {initial: 1s\nlog: {}\n").line == 3);
  CHECK(onlyProblem("a: \"x\\q\"\n").line == 1);
}

TEST_CASE("more than one YAML document is a problem", "[config]") {
  const ConfigProblem p = onlyProblem("provider: gce\n---\nprovider: ec2\n");
  CHECK(p.line == 3);
  CHECK(contains(p.message, "more than one YAML document"));
}

TEST_CASE("all problems are reported at once, in file order", "[config]") {
  const ConfigLoadResult r = parseConfig(
      "provider: gcp\n"              // 1
      "metadata:\n"                  // 2
      "  endpoint: http://x/path\n"  // 3
      "  timeout: 30\n"              // 4
      "retry: {attempts: 0}\n"       // 5
      "probes:\n"                    // 6
      "  metadata:\n"                // 7
      "    intervall: 30s\n"         // 8
      "report:\n"                    // 9
      "  metrics: {listen: nope}\n"  // 10
      "log: {level: loud}\n");       // 11
  INFO(describe(r));
  CHECK_FALSE(r.config.has_value());
  REQUIRE(r.problems.size() == 7);
  const std::vector<std::pair<std::string, int>> expected = {
      {"provider", 1},       {"metadata.endpoint", 3},         {"metadata.timeout", 4},
      {"retry.attempts", 5}, {"probes.metadata.intervall", 8}, {"report.metrics.listen", 10},
      {"log.level", 11}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(r.problems[i].path == expected[i].first);
    CHECK(r.problems[i].line == expected[i].second);
  }
}

// ---- files and the environment ----

TEST_CASE("a missing file is one problem naming the file", "[config]") {
  const std::string path = "/nonexistent-guestpulse-dir/guestpulse.yaml";
  const ConfigLoadResult r = loadConfigFile(path);
  REQUIRE(r.problems.size() == 1);
  CHECK_FALSE(r.config.has_value());
  CHECK(r.problems[0].path.empty());
  CHECK(r.problems[0].line == 0);
  CHECK(r.problems[0].message == "cannot read " + path + ": No such file or directory");
  CHECK(r.problems[0].toString() == r.problems[0].message);
}

TEST_CASE("a file is read and parsed", "[config]") {
  // Unique per run: another build's tests may be running at the same time.
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() /
      ("guestpulse-test-config-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".yaml");
  {
    std::ofstream out(file);
    out << "log:\n  level: warn\n";
  }
  const ConfigLoadResult r = loadConfigFile(file.string());
  std::filesystem::remove(file);
  REQUIRE(r.config.has_value());
  CHECK(r.config->log.level == "warn");
  const ConfigLoadResult dir = loadConfigFile(std::filesystem::temp_directory_path().string());
  REQUIRE(dir.problems.size() == 1);
  CHECK(contains(dir.problems[0].message, "cannot read"));
}

TEST_CASE("GCE_METADATA_HOST overrides the endpoint as Google's libraries do", "[config]") {
  Config c;
  {
    ScopedEnv env("GCE_METADATA_HOST", "127.0.0.1:8080");
    applyEnvironmentOverrides(c);
    CHECK(c.metadata.endpoint == "http://127.0.0.1:8080");
    CHECK(validateConfig(c).empty());
  }
  {
    ScopedEnv env("GCE_METADATA_HOST", "metadata.google.internal");
    applyEnvironmentOverrides(c);
    CHECK(c.metadata.endpoint == "http://metadata.google.internal");
  }
  Config untouched;
  {
    ScopedEnv env("GCE_METADATA_HOST", "");
    applyEnvironmentOverrides(untouched);
    CHECK(untouched == Config{});
  }
  {
    ScopedEnv env("GCE_METADATA_HOST", nullptr);
    applyEnvironmentOverrides(untouched);
    CHECK(untouched == Config{});
  }
  {
    // Taken as is; a malformed value shows up when the result is validated.
    ScopedEnv env("GCE_METADATA_HOST", "10.0.0.1/path");
    Config bad;
    applyEnvironmentOverrides(bad);
    const std::vector<ConfigProblem> problems = validateConfig(bad);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].path == "metadata.endpoint");
    CHECK(problems[0].line == 0);
  }
}

TEST_CASE("on EC2 the AWS SDKs' endpoint variables override it, GCE's does not", "[config]") {
  ScopedEnv gce("GCE_METADATA_HOST", "127.0.0.1:8080");
  {
    ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/");
    Config c;
    applyEnvironmentOverrides(c, Provider::Ec2);
    CHECK(c.metadata.endpoint == "http://127.0.0.1:1338");  // the trailing '/' dropped
    CHECK(validateConfig(c).empty());
    CHECK(metadataEndpointFor(Config{}, Provider::Gce) == "http://127.0.0.1:8080");
    CHECK(metadataEndpointFor(Config{}, Provider::Azure) == "http://169.254.169.254");
  }
  {
    ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", nullptr);
    ScopedEnv mode("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6");
    Config c;
    applyEnvironmentOverrides(c, Provider::Ec2);
    CHECK(c.metadata.endpoint == "http://[fd00:ec2::254]");
    CHECK(validateConfig(c).empty());
  }
  {
    ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://[fd00:ec2::254]:80");
    ScopedEnv mode("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv4");
    Config c;
    c.provider = Provider::Ec2;
    applyEnvironmentOverrides(c);  // the configured provider
    CHECK(c.metadata.endpoint == "http://[fd00:ec2::254]:80");
  }
  {
    ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", nullptr);
    ScopedEnv mode("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", nullptr);
    Config c;
    applyEnvironmentOverrides(c, Provider::Ec2);
    CHECK(c == Config{});  // GCE_METADATA_HOST is not for EC2
    applyEnvironmentOverrides(c, Provider::Azure);
    CHECK(c == Config{});
  }
}

TEST_CASE("detection: its keys are read and checked", "[config]") {
  const Config c = parseValid("detection:\n  sysfs_root: /host/sys\n  timeout: 300ms\n");
  CHECK(c.detection.sysfsRoot == "/host/sys");
  CHECK(c.detection.timeout == 300ms);
  CHECK(Config{}.detection.sysfsRoot == "/sys");
  CHECK(Config{}.detection.timeout == 1s);
  const ConfigProblem relative = onlyProblem("detection:\n  sysfs_root: sys\n");
  CHECK(relative.path == "detection.sysfs_root");
  CHECK(relative.line == 2);
  const ConfigProblem slow = onlyProblem("detection:\n  timeout: 1m\n");
  CHECK(slow.path == "detection.timeout");
  CHECK(contains(slow.message, "at most 10s"));
}

// ---- text forms ----

TEST_CASE("config values print as the config spells them", "[config]") {
  CHECK(toString(Provider::Auto) == "auto");
  CHECK(toString(Provider::Gce) == "gce");
  CHECK(toString(Provider::Ec2) == "ec2");
  CHECK(toString(Provider::Azure) == "azure");
  CHECK(toString(Enablement::True) == "true");
  CHECK(toString(Enablement::False) == "false");
  CHECK(toString(Enablement::Auto) == "auto");
  CHECK(toString(CustomProbeKind::Exec) == "exec");
  CHECK(ConfigProblem{"log.level", 0, "bad"}.toString() == "log.level: bad");
  CHECK(ConfigProblem{"", 3, "bad"}.toString() == "line 3: bad");
  CHECK(ConfigProblem{"a.b", 7, "bad"}.toString() == "line 7: a.b: bad");
}

TEST_CASE("formatConfigDuration is exact and parses back", "[config]") {
  CHECK(formatConfigDuration(0ms) == "0s");
  CHECK(formatConfigDuration(1500ms) == "1s500ms");
  CHECK(formatConfigDuration(90s) == "1m30s");
  CHECK(formatConfigDuration(60s) == "1m");
  CHECK(formatConfigDuration(48h + 1ms) == "48h1ms");
  for (Duration d : {Duration(1ms), Duration(999ms), Duration(61s), Duration(3h + 1s),
                     Duration(720h), Duration(1h + 1min + 1s + 1ms)}) {
    CHECK(parseDuration(formatConfigDuration(d)) == d);
  }
}

TEST_CASE("closestMatch suggests only close keys", "[config]") {
  const std::vector<std::string_view> keys = {"interval", "timeout", "enabled"};
  CHECK(closestMatch("intervall", keys) == "interval");
  CHECK(closestMatch("timeuot", keys) == "timeout");
  CHECK(closestMatch("Enabled", keys) == "enabled");
  CHECK(closestMatch("frequency", keys).empty());
  CHECK(closestMatch("ab", {"on", "at"}) == "at");  // one edit away is still close
  CHECK(closestMatch("xy", {"on"}).empty());
}

TEST_CASE("toYaml prints a config that parses back to the same config", "[config]") {
  CHECK(parseValid(toYaml(Config{})) == Config{});

  Config c;
  c.provider = Provider::Ec2;
  c.detection.sysfsRoot = "/host/sys";
  c.detection.timeout = 250ms;
  c.metadata.endpoint = "http://[::1]:8080";
  c.retry.multiplier = 1.25;
  c.probes.workloadCerts.enabled = Enablement::False;
  c.probes.workloadCerts.credentialsDir = "/path with spaces/and: colon #hash";
  c.probes.mdsMtls.rootCa = "C:\\ProgramData\\guestpulse\\root.crt";
  c.probes.mdsMtls.clientCert = "null";
  c.report.serial.device = "COM1";
  c.report.metrics.listen = "127.0.0.1:9464";
  CustomProbeConfig web;
  web.name = "web";
  web.kind = CustomProbeKind::Http;
  web.interval = 90s;
  web.timeout = 1500ms;
  web.url = "http://a/b?c=d&e=f";
  web.expectStatus = 204;
  CustomProbeConfig db;
  db.name = "db";
  db.kind = CustomProbeKind::Tcp;
  db.address = "[::1]:5432";
  CustomProbeConfig quirky;
  quirky.name = "quirky";
  quirky.kind = CustomProbeKind::Exec;
  quirky.command = {"/bin/sh", "-c", "echo \"hi\", [there] # not a comment\n\ttab", "", "-"};
  c.probes.custom = {web, db, quirky};
  const std::string yaml = toYaml(c);
  INFO(yaml);
  CHECK(parseValid(yaml) == c);
}

// ---- probes.service_proxy ----

TEST_CASE("probes.service_proxy: every key is read", "[config][service_proxy]") {
  const Config c = parseValid(R"(
probes:
  service_proxy:
    enabled: true
    interval: 30s
    envoy_admin: "[::1]:15000"
    heartbeat_stale: 10m
    bootstrap_grace: 20m
    control_plane: td.example.internal:8443
)");
  const ServiceProxyProbeConfig& p = c.probes.serviceProxy;
  CHECK(p.enabled == Enablement::True);
  CHECK(p.interval == 30s);
  CHECK(p.envoyAdmin == "[::1]:15000");
  CHECK(p.heartbeatStale == 10min);
  CHECK(p.bootstrapGrace == 20min);
  CHECK(p.controlPlane == "td.example.internal:8443");
  CHECK(ServiceProxyProbeConfig{}.enabled == Enablement::Auto);
  CHECK(ServiceProxyProbeConfig{}.controlPlane == "trafficdirector.googleapis.com:443");
}

TEST_CASE("probes.service_proxy: every bad value names its path and line",
          "[config][service_proxy]") {
  struct Case {
    std::string yaml;
    std::string path;
    std::string message;
  };
  const std::string head = "probes:\n  service_proxy:\n";
  const std::vector<Case> cases = {
      {head + "    enabled: sometimes\n", "probes.service_proxy.enabled", "true, false or auto"},
      {head + "    interval: 0s\n", "probes.service_proxy.interval", "at least 1s"},
      {head + "    interval: 60\n", "probes.service_proxy.interval", "needs a unit"},
      {head + "    envoy_admin: 127.0.0.1\n", "probes.service_proxy.envoy_admin", "needs a port"},
      {head + "    envoy_admin: 127.0.0.1:99999\n", "probes.service_proxy.envoy_admin",
       "from 1 to 65535"},
      {head + "    envoy_admin: ''\n", "probes.service_proxy.envoy_admin", "is empty"},
      {head + "    heartbeat_stale: 20s\n", "probes.service_proxy.heartbeat_stale", "at least 30s"},
      {head + "    bootstrap_grace: 0s\n", "probes.service_proxy.bootstrap_grace", "at least 1s"},
      {head + "    control_plane: trafficdirector.googleapis.com\n",
       "probes.service_proxy.control_plane", "needs a port"},
      {head + "    control_plane: [a, b]\n", "probes.service_proxy.control_plane", "a list"},
      {head + "    control_pane: x:1\n", "probes.service_proxy.control_pane",
       "did you mean 'control_plane'?"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    const ConfigProblem p = onlyProblem(c.yaml);
    CHECK(p.path == c.path);
    CHECK(p.line == 3);
    CHECK(contains(p.message, c.message));
  }
  // A custom probe may not take the built-in probe's name.
  const ConfigProblem named = onlyProblem(
      "probes:\n  custom:\n    - name: service_proxy\n      type: tcp\n"
      "      address: 127.0.0.1:1\n");
  CHECK(named.path == "probes.custom[0].name");
  CHECK(contains(named.message, "built-in probe"));
}

TEST_CASE("probes.service_proxy: toYaml round trip", "[config][service_proxy]") {
  Config c;
  c.probes.serviceProxy.enabled = Enablement::False;
  c.probes.serviceProxy.interval = 90s;
  c.probes.serviceProxy.envoyAdmin = "localhost:15000";
  c.probes.serviceProxy.heartbeatStale = 1h;
  c.probes.serviceProxy.bootstrapGrace = 45s;
  c.probes.serviceProxy.controlPlane = "[2001:db8::1]:443";
  const std::string yaml = toYaml(c);
  INFO(yaml);
  CHECK(contains(yaml, "  service_proxy:\n    enabled: false\n    interval: 1m30s\n"));
  CHECK(parseValid(yaml) == c);
}

}  // namespace guestpulse
