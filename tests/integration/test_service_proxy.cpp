// The service_proxy probe against fake-mds (the gce-service-proxy instance and guest
// attributes, the scopes) and the fake Envoy admin interface, on loopback port 0: every
// cause the fakes can produce, the nat causes through the inspector on fake listing
// tools, hostile config dumps bounded in time and memory, and the probe, `guestpulse
// check --json`, the running agent's serial line and its probe-service_proxy guest
// attribute agreeing.

#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "agent/app/probe_factory.hpp"
#include "agent/diagnosis/service_proxy.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/service_proxy_probe.hpp"
#include "platform/inspector.hpp"
#include "tests/fake_envoy/fake_envoy.hpp"
#include "tests/integration/harness.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

const std::string kGa = "instance/guest-attributes/gce-service-proxy/";
const std::string kSpec =
    R"({"api-version": "0.2", "proxy-spec": {"proxy-port": 15001, "network": "default"},
        "service": {"serving-ports": [8080]}})";

// The fakes of a healthy service-proxy VM; the control plane is a listener of our own.
struct Mesh {
  fake::FakeMds mds{withGuestAttributes()};
  fake::FakeEnvoy envoy;
  fake::FakeMds controlPlane;  // anything that accepts TCP will do
  TempDir dir;

  Mesh() {
    mds.start();
    envoy.start();
    controlPlane.start();
    mds.setValue("instance/attributes/gce-service-proxy", kSpec);
    mds.setValue(kGa + "bootstrap-status", "FINISHED");
    beat(WallClock::now());
  }

  void beat(WallTime at) { mds.setValue(kGa + "agent-heartbeat", formatRfc3339(at)); }

  void answers(const std::function<void(fake::EnvoyAnswers&)>& change) {
    fake::EnvoyAnswers a = envoy.answers();
    change(a);
    envoy.setAnswers(a);
  }

  Config config() const {
    Config c = fastConfig(mds, dir);
    c.probes.serviceProxy.enabled = Enablement::Auto;
    c.probes.serviceProxy.interval = 1s;
    c.probes.serviceProxy.envoyAdmin = envoy.endpoint();
    c.probes.serviceProxy.controlPlane = "localhost:" + std::to_string(controlPlane.port());
    return c;
  }

  // For the real binary. provider: gce, not auto: the machine's own firmware must not
  // decide (on an EC2 or Azure host the service_proxy probe, GCE-only, would be off).
  std::string yaml() const {
    const Config c = config();
    return "provider: gce\n"
           "metadata: { timeout: 500ms }\n"
           "retry: { initial: 100ms, max: 1s, multiplier: 2, attempts: 3 }\n"
           "probes:\n"
           "  metadata: { interval: 1s }\n"
           "  workload_certs: { enabled: false }\n"
           "  mds_mtls: { enabled: false }\n"
           "  service_proxy:\n"
           "    interval: 1s\n"
           "    envoy_admin: " +
           c.probes.serviceProxy.envoyAdmin +
           "\n    control_plane: " + c.probes.serviceProxy.controlPlane +
           "\nreport:\n  serial: { device: " + (dir / "serial.log").string() +
           " }\n  state_dir: " + (dir / "state").string() + "\n";
  }
};

struct Run {
  std::shared_ptr<platform::Inspector> inspector;
  std::function<std::optional<Duration>()> uptime;
  ServiceProxyProbeOptions tweak;  // only the limits are taken from here
};

// Runs a service_proxy probe built from `config` `times` times on one probe object.
std::vector<ProbeResult> runProbe(const Config& config, const Run& run = {}, int times = 1) {
  asio::io_context io;
  BlockingPool pool(2);
  HttpClient http(io.get_executor(), pool);
  auto metadata = makeMetadataClient(config, http, makeUnitRandom(3));
  const auto& c = config.probes.serviceProxy;
  ServiceProxyProbeOptions options = run.tweak;
  options.enabled = c.enabled;
  options.envoyAdmin = c.envoyAdmin;
  options.heartbeatStale = c.heartbeatStale;
  options.bootstrapGrace = c.bootstrapGrace;
  options.controlPlane = c.controlPlane;
  ServiceProxyProbe probe(*metadata, http, pool, run.inspector, options, {}, run.uptime);
  std::vector<ProbeResult> results;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < times; ++i) results.push_back(co_await runWithDeadline(probe, {}));
      },
      asio::detached);
  io.run();
  return results;
}

ProbeResult runOnce(const Config& config, const Run& run = {}) {
  return runProbe(config, run).front();
}

std::string detail(const ProbeResult& r, const std::string& key) {
  std::string out;
  for (const auto& [k, v] : r.details)
    if (k == key) out += (out.empty() ? "" : "|") + v;
  return out;
}

// An inspector whose iptables-nft-save prints `nat`, with the proxy's admin socket (on
// `adminPort`) owned by uid 1337.
struct FakeTools {
  TempDir dir;
  std::uint16_t adminPort = 15000;
  std::shared_ptr<platform::Inspector> inspector(const std::string& nat) {
    writeFile(dir / "iptables-nft-save", "#!/bin/sh\ncat <<'EOF'\n" + nat + "EOF\n");
    std::filesystem::permissions(dir / "iptables-nft-save", std::filesystem::perms::owner_all);
    char local[32];
    std::snprintf(local, sizeof local, "0100007F:%04X", adminPort);
    writeFile(dir / "tcp",
              "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt uid\n"
              "   0: " +
                  std::string(local) +
                  " 00000000:0000 0A 00000000:00000000 00:00000000 00000000 1337 0 1 1\n");
    writeFile(dir / "tcp6", "");
    platform::InspectorOptions options;
    options.toolDirectories = {dir.path().string()};
    options.socketTableDirectory = dir.path().string();
    return platform::makeInspector(options);
  }
};

const std::string kIstio =
    "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:ISTIO_INBOUND - [0:0]\n"
    ":ISTIO_IN_REDIRECT - [0:0]\n:ISTIO_OUTPUT - [0:0]\n:ISTIO_REDIRECT - [0:0]\n"
    "-A PREROUTING -p tcp -j ISTIO_INBOUND\n"
    "-A OUTPUT -p tcp -j ISTIO_OUTPUT\n"
    "-A ISTIO_INBOUND -p tcp -m tcp --dport 8080 -j ISTIO_IN_REDIRECT\n"
    "-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15001\n"
    "-A ISTIO_OUTPUT -d 127.0.0.0/8 -j RETURN\n"
    "-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN\n"
    "-A ISTIO_OUTPUT -j ISTIO_REDIRECT\n"
    "-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001\n"
    "COMMIT\n";

std::string without(std::string text, const std::string& line) {
  auto at = text.find(line);
  REQUIRE(at != std::string::npos);
  return text.erase(at, line.size());
}

}  // namespace

TEST_CASE("service_proxy: fake-mds serves the gce-service-proxy attributes and the scopes",
          "[service_proxy]") {
  Mesh mesh;
  auto guest = mesh.mds.guestAttributes();
  CHECK(guest.at("gce-service-proxy/bootstrap-status") == "FINISHED");
  CHECK(mesh.mds.value("instance/service-accounts/default/scopes")->find(kCloudPlatformScope) !=
        std::string::npos);

  ProbeResult ok = runOnce(mesh.config());
  INFO(ok.message);
  CHECK(ok.state == State::Ok);
  CHECK(ok.cause.empty());
  CHECK_THAT(ok.message, Catch::Contains("bootstrap FINISHED, agent heartbeat"));
  CHECK_THAT(ok.message, Catch::Contains("Envoy 1.27.0 LIVE with active listener td-interception"));
  CHECK_THAT(ok.message, Catch::Contains("control plane localhost reachable"));
  CHECK(detail(ok, "not_checked") == "nat rules: not read (no inspector)");
  std::size_t asked = 0;
  for (const auto& r : mesh.mds.requests())
    if (r.target.find("gce-service-proxy") != std::string::npos) ++asked;
  CHECK(asked == 3);  // the instance attribute, bootstrap-status, agent-heartbeat

  // Not a service-proxy VM: one request, nothing else asked, and for the next 10 minutes
  // not even that.
  mesh.mds.removeValue("instance/attributes/gce-service-proxy");
  mesh.mds.clearRequests();
  auto before = mesh.envoy.requests();
  std::vector<ProbeResult> none = runProbe(mesh.config(), {}, 3);
  REQUIRE(none.size() == 3);
  for (const auto& r : none) {
    CHECK(r.state == State::Ok);
    CHECK_THAT(r.message, Catch::Contains("not a service-proxy VM"));
  }
  CHECK(mesh.mds.requests().size() == 1);
  CHECK(mesh.envoy.requests() == before);
  Run recheck;
  recheck.tweak.attributeRecheck = 0s;
  mesh.mds.clearRequests();
  runProbe(mesh.config(), recheck, 3);
  CHECK(mesh.mds.requests().size() == 3);
}

TEST_CASE("service_proxy: every cause the fakes produce", "[service_proxy]") {
  struct Case {
    const char* name;
    std::function<void(Mesh&)> fault;
    State state;
    const char* cause;
    const char* inMessage;
  };
  const std::vector<Case> cases = {
      {"bootstrap IN PROGRESS past the grace",
       [](Mesh& m) { m.mds.setValue(kGa + "bootstrap-status", "IN PROGRESS"); }, State::Failed,
       "service_proxy.bootstrap_pending", "is IN PROGRESS after"},
      {"no bootstrap-status yet", [](Mesh& m) { m.mds.removeValue(kGa + "bootstrap-status"); },
       State::Failed, "service_proxy.bootstrap_pending", "is not set yet"},
      {"bootstrap FAILED",
       [](Mesh& m) {
         m.mds.setValue(kGa + "bootstrap-status", "FAILED");
         m.mds.setValue(kGa + "bootstrap-last-failure", "cannot download Envoy: 403");
       },
       State::Failed, "service_proxy.bootstrap_failed", "cannot download Envoy: 403"},
      {"agent heartbeat 10 minutes old",
       [](Mesh& m) {
         m.beat(WallClock::now() - 10min);
         m.mds.setValue(kGa + "agent-last-failure", "agent crashed");
       },
       State::Failed, "service_proxy.agent_dead", "agent-last-failure: agent crashed"},
      {"agent heartbeat in Unix seconds, stale",
       [](Mesh& m) {
         auto secs = std::chrono::duration_cast<std::chrono::seconds>(
             (WallClock::now() - 6min).time_since_epoch());
         m.mds.setValue(kGa + "agent-heartbeat", std::to_string(secs.count()));
       },
       State::Failed, "service_proxy.agent_dead", "old ("},
      {"scope missing",
       [](Mesh& m) {
         m.mds.setValue("instance/service-accounts/default/scopes",
                        "https://www.googleapis.com/auth/devstorage.read_only\n");
       },
       State::Failed, "service_proxy.scope_missing", "lack cloud-platform"},
      {"Envoy initializing",
       [](Mesh& m) {
         m.answers([](auto& a) {
           a.readyStatus = 503;
           a.readyBody = "PRE_INITIALIZING\n";
         });
       },
       State::Failed, "service_proxy.envoy_not_ready", "HTTP 503 PRE_INITIALIZING"},
      {"Envoy without listeners",
       [](Mesh& m) {
         m.answers([](auto& a) { a.configDump = fake::ConfigDumpMode::NoListeners; });
       },
       State::Failed, "service_proxy.envoy_not_ready", "no active listener"},
      {"Envoy with a rejected listener",
       [](Mesh& m) { m.answers([](auto& a) { a.configDump = fake::ConfigDumpMode::Warming; }); },
       State::Failed, "service_proxy.envoy_not_ready", "Address already in use"},
      {"Envoy admin down", [](Mesh& m) { m.envoy.stop(); }, State::Failed,
       "service_proxy.envoy_not_ready", "Connection refused"},
      {"Envoy 1.8.0", [](Mesh& m) { m.answers([](auto& a) { a.version = "1.8.0"; }); },
       State::Degraded, "service_proxy.envoy_too_old", "Envoy 1.8.0 is older than 1.9.1"},
      {"control plane refuses", [](Mesh& m) { m.controlPlane.stop(); }, State::Failed,
       "service_proxy.control_plane_unreachable", "Connection refused"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Mesh mesh;
      c.fault(mesh);
      ProbeResult r = runOnce(mesh.config());
      INFO(r.message << " | fix: " << r.fix);
      CHECK(r.state == c.state);
      CHECK(r.cause == c.cause);
      CHECK_THAT(r.message, Catch::Contains(c.inMessage));
      CHECK_FALSE(r.fix.empty());
    }
  }

  SECTION("control plane name does not resolve") {
    Mesh mesh;
    Config config = mesh.config();
    config.probes.serviceProxy.controlPlane = "trafficdirector.invalid:443";
    ProbeResult r = runOnce(config);
    CHECK(r.cause == "service_proxy.control_plane_unreachable");
    CHECK_THAT(r.message, Catch::Contains("trafficdirector.invalid does not resolve"));
  }
  SECTION("bootstrap pending within the grace is DEGRADED") {
    Mesh mesh;
    mesh.mds.setValue(kGa + "bootstrap-status", "IN PROGRESS");
    Run run;
    run.uptime = [] { return std::optional<Duration>(3min); };
    ProbeResult r = runOnce(mesh.config(), run);
    CHECK(r.state == State::Degraded);
    CHECK(r.cause == "service_proxy.bootstrap_pending");
    CHECK_THAT(r.message, Catch::Contains("(the VM has been up 3m; allowed 10m)"));
  }
}

TEST_CASE("service_proxy: the nat causes, through the inspector on fake listing tools",
          "[service_proxy]") {
  Mesh mesh;
  FakeTools tools;
  tools.adminPort = mesh.envoy.port();
  Run run;

  run.inspector = tools.inspector(kIstio);
  ProbeResult ok = runOnce(mesh.config(), run);
  INFO(ok.message);
  CHECK(ok.state == State::Ok);
  CHECK_THAT(ok.message, Catch::Contains("nat interception to port 15001 (proxy uid 1337"));
  // The agent's own connection to the control plane (127.0.0.1) is exempted by -d 127/8.
  CHECK_THAT(ok.message, Catch::Contains("control plane localhost reachable"));

  run.inspector =
      tools.inspector(without(kIstio, "-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN\n"));
  ProbeResult loop = runOnce(mesh.config(), run);
  CHECK(loop.cause == "service_proxy.interception_loop");
  CHECK_THAT(loop.message,
             Catch::Contains("-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001"));
  CHECK_THAT(loop.fix,
             Catch::Contains("iptables -t nat -I OUTPUT 1 -m owner --uid-owner 1337 -j RETURN"));

  run.inspector = tools.inspector("*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n");
  ProbeResult missing = runOnce(mesh.config(), run);
  CHECK(missing.cause == "service_proxy.interception_missing");
  CHECK_THAT(missing.message, Catch::Contains("nat chains: none"));

  run.inspector = tools.inspector(
      without(kIstio, "-A ISTIO_INBOUND -p tcp -m tcp --dport 8080 -j ISTIO_IN_REDIRECT\n"));
  ProbeResult inbound = runOnce(mesh.config(), run);
  CHECK(inbound.cause == "service_proxy.interception_missing");
  CHECK_THAT(inbound.message, Catch::Contains("serving port(s) 8080"));

  // The agent's own connection would be redirected: only the name is checked.
  mesh.controlPlane.stop();
  run.inspector = tools.inspector(without(kIstio, "-A ISTIO_OUTPUT -d 127.0.0.0/8 -j RETURN\n"));
  ProbeResult untested = runOnce(mesh.config(), run);
  CHECK(untested.state == State::Ok);
  CHECK_THAT(untested.message, Catch::Contains("control plane localhost resolves"));
  CHECK_THAT(detail(untested, "not_checked"),
             Catch::Contains("TCP to the control plane: not tested"));
}

TEST_CASE("service_proxy: hostile config dumps cost bounded time and memory",
          "[service_proxy][hostile]") {
  Mesh mesh;
  Run run;
  run.tweak.configDumpTimeout = 3s;
  struct Case {
    fake::ConfigDumpMode mode;
    const char* note;  // what the probe says it could not check
  };
  const std::vector<Case> cases = {
      {fake::ConfigDumpMode::Huge, "bytes without reaching the listeners"},
      {fake::ConfigDumpMode::Endless, "bytes without reaching the listeners"},
      {fake::ConfigDumpMode::Deep, "config_dump: not JSON"},
      {fake::ConfigDumpMode::Garbage, "config_dump: not JSON"},
      {fake::ConfigDumpMode::Drip, "without reaching the listeners"},
  };
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  for (const auto& c : cases) {
    INFO(fake::toString(c.mode));
    mesh.answers([&](auto& a) {
      a.configDump = c.mode;
      a.hugeMib = 64;
    });
    const auto start = std::chrono::steady_clock::now();
    ProbeResult r = runOnce(mesh.config(), run);
    const auto took = std::chrono::steady_clock::now() - start;
    INFO(r.message);
    CHECK(r.state == State::Ok);  // no claim about listeners it could not read
    CHECK_THAT(detail(r, "not_checked"), Catch::Contains(c.note));
    CHECK(took < 5s);
  }
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  // Max RSS (KiB) grew by less than 16 MiB over 64 MiB and endless dumps: never held.
  if (kRssMeaningful) CHECK(after.ru_maxrss - before.ru_maxrss < 16 * 1024);
  CHECK(mesh.envoy.configDumpBytesSent() >= 2 * (16u << 20));

  // A huge dump with its listeners within the limit is read through to them.
  mesh.answers([](auto& a) {
    a.configDump = fake::ConfigDumpMode::Huge;
    a.hugeMib = 4;
  });
  ProbeResult through = runOnce(mesh.config(), run);
  CHECK_THAT(through.message, Catch::Contains("active listener td-interception"));

  // An admin interface that never answers costs its timeout, no more.
  mesh.answers([](auto& a) { a.hang = true; });
  const auto start = std::chrono::steady_clock::now();
  ProbeResult hung = runOnce(mesh.config(), run);
  CHECK(hung.cause == "service_proxy.envoy_not_ready");
  CHECK_THAT(hung.message, Catch::Contains("timeout"));
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("service_proxy: a metadata outage keeps the last verdict", "[service_proxy]") {
  Mesh mesh;
  mesh.mds.setValue("instance/service-accounts/default/scopes", "https://x/y\n");
  Config config = mesh.config();
  asio::io_context io;
  // Two runs on one probe: the second meets 503s on the guest attributes.
  std::vector<ProbeResult> results;
  {
    BlockingPool pool(2);
    HttpClient http(io.get_executor(), pool);
    auto metadata = makeMetadataClient(config, http, makeUnitRandom(3));
    auto probes = makeProbes(config, ProbeDeps{*metadata, http, pool, nullptr});
    Probe* probe = nullptr;
    for (auto& p : probes)
      if (p->name() == "service_proxy") probe = p.get();
    REQUIRE(probe);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          results.push_back(co_await probe->run({}));
          mesh.mds.addFault(fake::statusFault(503, "/computeMetadata/v1/" + kGa));
          results.push_back(co_await probe->run({true}));
        },
        asio::detached);
    io.run();
  }
  REQUIRE(results.size() == 2);
  CHECK(results[0].cause == "service_proxy.scope_missing");
  CHECK(results[1].cause == "service_proxy.scope_missing");
  CHECK_THAT(detail(results[1], "not_rechecked"), Catch::Contains("HTTP 503"));
}

TEST_CASE("service_proxy: check --json, the serial line and the guest attribute agree",
          "[service_proxy][agent]") {
  Mesh mesh;
  mesh.beat(WallClock::now() - 20min);
  mesh.mds.setValue(kGa + "agent-last-failure", "envoy exited 1");

  CheckedProbe checked =
      checkProbe(mesh.dir.path(), mesh.yaml(), mesh.mds.endpoint(), "service_proxy");
  CHECK(checked.exitCode == 2);
  CHECK(checked.state == "FAILED");
  CHECK(checked.cause == "service_proxy.agent_dead");
  CHECK_THAT(checked.message, Catch::Contains("agent-last-failure: envoy exited 1"));

  std::filesystem::remove(mesh.dir / "serial.log");
  std::filesystem::remove_all(mesh.dir / "state");
  // The agent reads nat rules from fake tools, not from the machine running the test.
  FakeTools tools;
  tools.adminPort = mesh.envoy.port();
  AgentOptions options;
  options.inspector = tools.inspector(kIstio);
  RunningAgent running(mesh.config(), options);
  const std::string line = "probe=service_proxy state=FAILED cause=service_proxy.agent_dead";
  CHECK(eventually(
      [&] { return readFile(mesh.dir / "serial.log").find(line) != std::string::npos; }, 10s));
  auto attribute = [&] {
    auto all = mesh.mds.guestAttributes();
    auto it = all.find("guestpulse/probe-service_proxy");
    return it == all.end() ? std::string() : it->second;
  };
  CHECK(eventually([&] { return attribute().rfind("FAILED service_proxy.agent_dead: ", 0) == 0; },
                   20s));
  INFO(attribute());
  CHECK_THAT(attribute(), Catch::Contains(checked.message.substr(0, 40)));

  // Recovery: a fresh heartbeat is seen within an interval or two.
  mesh.beat(WallClock::now());
  CHECK(eventually(
      [&] {
        return readFile(mesh.dir / "serial.log")
                   .find("probe=service_proxy state=OK msg=\"recovered") != std::string::npos;
      },
      10s));
  running.stop();
}
