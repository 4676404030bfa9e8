// A hostile metadata server, a broken disk and a careless operator: the agent stays
// alive, bounded (RSS from /proc), right about the cause, and recovers by itself.

#include <signal.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "agent/core/state_file_writer.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/report/guest_attribute_sink.hpp"
#include "platform/files.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/hostile_server.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;

namespace {

long rssKb(int pid = 0) {
  std::string status =
      readFile("/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/status");
  auto at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

std::size_t countOf(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

Config hostileConfig(const HostileServer& server, const TempDir& dir) {
  Config config;
  config.metadata.endpoint = "http://" + server.endpoint();
  config.metadata.timeout = 500ms;
  config.retry = {100ms, 1s, 2.0, 2};
  config.probes.metadata.interval = 1s;
  config.probes.workloadCerts.enabled = Enablement::False;
  config.probes.mdsMtls.enabled = Enablement::False;
  // The hostile server answers every GET, gce-service-proxy/ included.
  config.probes.serviceProxy.enabled = Enablement::False;
  config.report.serial.device = (dir / "serial.log").string();
  config.report.stateDir = (dir / "state").string();
  config.report.guestAttributes.heartbeat = 10s;
  // A short reminder period keeps the flapping debounce (several failures with the same
  // cause within the period) out of the way of a test that goes through them quickly.
  config.report.serial.reminder = 1s;
  return config;
}

bool alive(int pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  return stat.substr(stat.rfind(')') + 2, 1) != "Z";
}

}  // namespace

TEST_CASE("hostile server: every misbehaviour is named, bounded, and recovered from", "[hostile]") {
  HostileServer server;
  TempDir dir;
  long before = rssKb();
  RunningAgent running(hostileConfig(server, dir));
  REQUIRE(eventually(
      [&] { return readFile(dir / "serial.log").find("state=OK") != std::string::npos; }, 10s));
  struct Case {
    Hostility mode;
    std::string cause;
    std::string says;
  };
  const std::vector<Case> cases = {
      {Hostility::HugeBody, "mds.bad_response", "the body is larger than the limit of 64 KiB"},
      {Hostility::TrickleHeader, "net.timeout", "timeout after"},
      {Hostility::HugeHeader, "mds.bad_response", "the header is larger than the limit of 8 KiB"},
      {Hostility::ManyHeaders, "mds.bad_response", "the header is larger than the limit of 8 KiB"},
      {Hostility::BadChunking, "mds.bad_response", "bad chunked encoding"},
      {Hostility::LengthMismatch, "net.connection_reset", "closed after 10 of 5000 body bytes"},
      {Hostility::MidBodyClose, "net.connection_reset", "closed in the middle of the body"},
      {Hostility::Redirect, "mds.http_error",
       "redirect to 'http://198.51.100.7/computeMetadata/v1/instance/id', not followed"},
  };
  long peak = 0;
  for (const Case& c : cases) {
    INFO("case " << c.cause << ": " << c.says);
    // Only lines written after this case began count: two cases in a row share a cause
    // and a message, and an earlier line must not pass for this case's.
    std::size_t start = readFile(dir / "serial.log").size();
    std::size_t recoveries = countOf(readFile(dir / "serial.log"), "recovered after");
    server.set(c.mode);
    bool named = eventually(
        [&] {
          std::string serial = readFile(dir / "serial.log");
          auto at = serial.rfind("cause=" + c.cause);
          return at != std::string::npos && at >= start &&
                 serial.find(c.says, at) != std::string::npos;
        },
        15s);
    INFO(readFile(dir / "serial.log"));
    CHECK(named);
    peak = std::max(peak, rssKb());
    server.set(Hostility::None);
    CHECK(eventually(
        [&] { return countOf(readFile(dir / "serial.log"), "recovered after") > recoveries; },
        15s));
  }
  running.stop();
  INFO("RSS before " << before << " kB, peak " << peak << " kB");
  // A 200 MiB body, 100 KiB headers: none of it is held. The test process's own RSS
  // (agent in process) grows by little.
  if (kRssMeaningful)
    CHECK(peak - before < 30 * 1024);
  else
    WARN("RSS not checked under a sanitizer: grew by " << (peak - before) << " kB");
}

TEST_CASE(
    "workload_certs: a config-status answer over the limit is reported while metadata is "
    "healthy",
    "[hostile]") {
  HostileServer server;
  server.set(Hostility::HugeBody, "/computeMetadata/v1/instance/gce-workload-certificates/");
  TempDir dir;
  Config config = hostileConfig(server, dir);
  config.probes.workloadCerts.enabled = Enablement::True;
  config.probes.workloadCerts.interval = 1s;
  RunningAgent running(config);
  // The two probes report in either order.
  bool both = eventually(
      [&] {
        std::string serial = readFile(dir / "serial.log");
        return serial.find("cause=workload_certs.bad_response") != std::string::npos &&
               serial.find("probe=metadata state=OK") != std::string::npos;
      },
      10s);
  running.stop();
  std::string serial = readFile(dir / "serial.log");
  INFO(serial);
  CHECK(both);
  CHECK_THAT(serial, Catch::Contains("probe=workload_certs state=FAILED "
                                     "cause=workload_certs.bad_response"));
  CHECK_THAT(serial, Catch::Contains("the body is larger than the limit of 64 KiB"));
  CHECK(serial.find("probe=metadata state=FAILED") == std::string::npos);
}

TEST_CASE("a 50 KB server message with escapes is capped in every state file", "[hostile]") {
  HostileServer server;
  server.set(Hostility::BigMessage, "/computeMetadata/v1/instance/gce-workload-certificates/");
  TempDir dir;
  Config config = hostileConfig(server, dir);
  config.probes.workloadCerts.enabled = Enablement::True;
  config.probes.workloadCerts.interval = 1s;
  std::string serial = serialUntil(config, dir.path(), "cause=workload_certs.misconfigured");
  CHECK_THAT(serial, Catch::Contains("cause=workload_certs.misconfigured"));
  for (const char* file : {"health.json", "status.json"}) {
    std::string text = readFile(dir / "state" / file);
    INFO(file << ": " << text.size() << " bytes");
    CHECK(text.size() < 8 * 1024);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find("\\u001b") == std::string::npos);  // escaped before JSON, not by it
    CHECK_THAT(text, Catch::Contains(" bytes)"));      // the quote says how long the whole was
  }
}

TEST_CASE("config reload: a FIFO is refused at once and 100 SIGHUPs say it once", "[hostile]") {
  HostileServer server;
  TempDir dir;
  std::string fifo = (dir / "g.yaml").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  AgentOptions options;
  options.configPath = fifo;
  RunningAgent running(hostileConfig(server, dir), options);
  REQUIRE(eventually(
      [&] { return readFile(dir / "serial.log").find("state=OK") != std::string::npos; }, 10s));
  for (int i = 0; i < 100; ++i) running.agent().requestReload();
  REQUIRE(eventually(
      [&] {
        return readFile(dir / "serial.log").find("cause=config.invalid") != std::string::npos;
      },
      5s));
  // The loop was never blocked: requests keep coming at the probe's pace.
  auto requestsBefore = server.requests();
  CHECK(eventually([&] { return server.requests() >= requestsBefore + 2; }, 5s));
  std::this_thread::sleep_for(500ms);
  running.stop();
  CHECK(countOf(readFile(dir / "serial.log"), "cause=config.invalid") == 1);
}

TEST_CASE("config validate: a FIFO is refused with exit 3 and a clear message", "[hostile]") {
  TempDir dir;
  std::string fifo = (dir / "f.yaml").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto child = ChildProcess::spawn({GUESTPULSE_BINARY, "config", "validate", "-c", fifo}, {},
                                   dir / "out", dir / "err");
  int code = child.wait(10s);
  CHECK(code == 3);
  CHECK_THAT(readFile(dir / "err"), Catch::Contains("is a FIFO, not a regular file"));
}

TEST_CASE("state files: a failing state_dir is said once and rewritten when it recovers",
          "[hostile]") {
  TempDir dir;
  std::string path = (dir / "health.json").string();
  std::atomic<int> calls{0};
  std::atomic<bool> full{true};
  StateFileWriter writer(50ms, [&](const std::string& p, const std::string& content, bool durable) {
    ++calls;
    if (full) return std::string("write " + p + ".tmp: No space left on device");
    return platform::replaceFileAtomically(p, content, durable);
  });
  for (int i = 0; i < 12; ++i) writer.write(path, "{\"n\":" + std::to_string(i) + "}\n", true);
  REQUIRE(eventually([&] { return writer.failing(path); }, 2s));
  std::this_thread::sleep_for(200ms);
  // Twelve writes within a millisecond are one attempt of the latest content plus retries.
  CHECK(calls < 12);
  full = false;
  // Space is back: the latest content goes out without another write().
  CHECK(eventually([&] { return readFile(path) == "{\"n\":11}\n"; }, 2s));
  // The writer notes the success just after the file is in place.
  CHECK(eventually([&] { return !writer.failing(path); }, 1s));
  CHECK(writer.flush(1s));
}

TEST_CASE("the restored guest-attribute queue is bounded and holds only the agent's keys",
          "[hostile]") {
  TempDir dir;
  boost::asio::io_context io;
  BlockingPool pool(1);
  HttpClient http(io.get_executor(), pool);
  MetadataClient client(http, MetadataEndpoint{}, 500ms, RetrySettings{}, makeUnitRandom(1));
  GuestAttributeSink::Options options;
  options.persistPath = (dir / "guest-attributes.json").string();

  // 26 MB, 500 000 keys: over the size limit, ignored whole, at once.
  std::string huge = R"({"version":1,"namespace":"guestpulse","pending":{)";
  for (int i = 0; i < 500000; ++i)
    huge += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"" +
            std::string(40, 'v') + "\"";
  huge += "}}";
  writeFile(options.persistPath, huge);
  long before = rssKb();
  auto start = std::chrono::steady_clock::now();
  {
    GuestAttributeSink sink(io.get_executor(), client, options, RetrySettings{}, makeUnitRandom(1));
    CHECK(sink.restoredFromDisk() == 0);
    CHECK(sink.queue().size() == 0);
  }
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  if (kRssMeaningful) CHECK(rssKb() - before < 20 * 1024);

  boost::json::object pending{{"status", "FAILED"},
                              {"../../../instance/attributes/x", "v"},
                              {"a/b", "v"},
                              {"", "v"},
                              {std::string(5000, 'k'), "v"},
                              {"probe-metadata", "FAILED x\x1b[2J"},
                              {"probe-custom", std::string(5000, 'v')},
                              {"last-failure", "2026-01-01T00:00:00Z metadata net.timeout: t"}};
  writeFile(options.persistPath,
            boost::json::serialize(boost::json::object{
                {"version", 1}, {"namespace", "guestpulse"}, {"pending", pending}}));
  GuestAttributeSink sink(io.get_executor(), client, options, RetrySettings{}, makeUnitRandom(1));
  CHECK(sink.restoredFromDisk() == 2);
  CHECK(sink.discardedFromDisk() == 6);
  CHECK(sink.queue().pending().count("status") == 1);
  CHECK(sink.queue().pending().count("last-failure") == 1);
  // The file now holds only what will be sent.
  CHECK(readFile(options.persistPath).find("instance/attributes") == std::string::npos);
}

TEST_CASE("a guest attribute the server keeps failing holds up no other, and is dropped",
          "[hostile]") {
  // The server fails every write of `status` and takes every other key.
  const std::string attributes = "/computeMetadata/v1/instance/guest-attributes/guestpulse/";
  HostileServer server;
  server.set(Hostility::ServerError, attributes + "status");
  TempDir dir;
  RunningAgent running(hostileConfig(server, dir));
  // status goes first and fails; the probe's value and the heartbeat still go out, within
  // one failure spacing (12 s).
  CHECK(eventually(
      [&] {
        return server.count("PUT " + attributes + "probe-metadata") >= 1 &&
               server.count("PUT " + attributes + "heartbeat") >= 1;
      },
      20s));
  CHECK(server.count("PUT " + attributes + "status") >= 1);
  // Heartbeats (every 10 s) are delivered between its failures: three strikes and it is
  // dropped.
  bool dropped = eventually(
      [&] {
        return server.count("PUT " + attributes + "status") >=
               1 + AttributeWriter::kMaxValueStrikes;
      },
      150s);
  CHECK(dropped);
  std::this_thread::sleep_for(2s);
  running.stop();
  const auto& counters = running.agent().guestAttributes()->counters();
  CHECK(counters.dropped == 1);
  CHECK(running.agent().guestAttributes()->queue().pending().count("status") == 0);
  CHECK(server.count("PUT " + attributes + "heartbeat") >= 3);
}

namespace {

// provider: gce in every config the binary runs on: with provider: auto the machine's own
// firmware would decide, and on an EC2 or Azure host the GCE fake would not be asked.
std::string execYaml(const TempDir& dir, const std::string& pidFile) {
  return "provider: gce\n"
         "retry: { initial: 100ms, max: 1s, multiplier: 2, attempts: 2 }\n"
         "probes:\n  metadata: { interval: 5s }\n"
         "  custom:\n    - name: daemonizes\n      type: exec\n      timeout: 60s\n"
         "      interval: 1m\n      command: [\"/bin/sh\", \"-c\", \"(setsid sh -c 'trap \\\"\\\" "
         "TERM; echo $$ > " +
         pidFile +
         "; exec sleep 300' &); sleep 300\"]\n"
         "report:\n  serial: { device: " +
         (dir / "serial.log").string() + " }\n  state_dir: " + (dir / "state").string() + "\n";
}

}  // namespace

TEST_CASE("exec: what a command started does not outlive the agent, stopped or killed",
          "[hostile]") {
  fake::FakeMds mds;
  mds.start();
  for (int signal : {SIGTERM, SIGKILL}) {
    INFO("agent ended with signal " << signal);
    TempDir dir;
    std::string pidFile = (dir / "daemon.pid").string();
    writeFile(dir / "g.yaml", execYaml(dir, pidFile));
    auto agent =
        ChildProcess::spawn({GUESTPULSE_BINARY, "run", "-c", (dir / "g.yaml").string()},
                            {"GCE_METADATA_HOST=" + mds.endpoint()}, dir / "out", dir / "err");
    REQUIRE(eventually([&] { return !readFile(pidFile).empty(); }, 10s));
    int daemon = std::stoi(readFile(pidFile));
    REQUIRE(alive(daemon));
    agent.signal(signal);
    agent.wait(10s);
    // The daemon left the process group and the session and ignores SIGTERM; it still goes.
    CHECK(eventually([&] { return !alive(daemon); }, 5s));
    if (alive(daemon)) ::kill(daemon, SIGKILL);
  }
}

TEST_CASE("failed guest-attribute writes: the first failure and the recovery are logged once",
          "[hostile]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  // Three failed PUTs (500), whatever key they carry; then the server takes them again.
  mds.addFault(fake::statusFault(500, "/computeMetadata/v1/instance/guest-attributes/", 3));
  TempDir dir;
  writeFile(dir / "g.yaml",
            "provider: gce\n"
            "metadata: { timeout: 500ms }\n"
            "retry: { initial: 100ms, max: 1s, multiplier: 2, attempts: 2 }\n"
            "probes:\n  metadata: { interval: 1s }\n"
            "report:\n  serial: { device: " +
                (dir / "serial.log").string() + " }\n  state_dir: " + (dir / "state").string() +
                "\n");
  auto agent =
      ChildProcess::spawn({GUESTPULSE_BINARY, "run", "-c", (dir / "g.yaml").string()},
                          {"GCE_METADATA_HOST=" + mds.endpoint()}, dir / "out", dir / "err");
  // Failed writes are at least 12 s apart: three of them take about half a minute.
  REQUIRE(eventually(
      [&] {
        return readFile(dir / "err").find("guest attribute writes work again") != std::string::npos;
      },
      60s));
  agent.signal(SIGTERM);
  agent.wait(10s);
  std::string log = readFile(dir / "err");
  INFO(log);
  CHECK(countOf(log, "guest attribute writes are failing") == 1);
  CHECK_THAT(log, Catch::Contains("HTTP 500"));
  CHECK(countOf(log, "guest attribute writes work again after 3 failed attempt(s)") == 1);
}
