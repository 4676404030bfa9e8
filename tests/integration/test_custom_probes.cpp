// The custom probes (http, tcp, exec), driven directly on an io_context against loopback
// servers on port 0 and real commands; then the agent reporting one like a built-in probe.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <regex>

#include "agent/app/probe_factory.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/custom_probes.hpp"
#include "platform/exec.hpp"
#include "tests/integration/harness.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* kId = "/computeMetadata/v1/instance/id";

// The probes' world: one io_context, the shared pool, an HTTP client, an exec pool.
struct Rig {
  asio::io_context io;
  BlockingPool pool{2};
  HttpClient http{io.get_executor(), pool};
  std::shared_ptr<BlockingPool> execPool = std::make_shared<BlockingPool>(1);

  // Commands are gated process-wide: an agent opens the gate when it starts and closes it
  // when it stops (platform::stopAllCommands). An in-process agent stopped by an earlier
  // test leaves it closed; this rig stands in for a started agent.
  Rig() { platform::allowCommands(); }

  ProbeResult run(const CustomProbeConfig& config) {
    auto probe = makeCustomProbe(config, {http, pool, execPool});
    REQUIRE(probe);
    CHECK(probe->name() == config.name);
    CHECK(probe->deadline() > config.timeout);
    std::optional<ProbeResult> result;
    asio::co_spawn(io, probe->run({}), [&](std::exception_ptr error, ProbeResult r) {
      REQUIRE_FALSE(error);
      result = std::move(r);
    });
    io.restart();
    io.run();
    REQUIRE(result);
    INFO(toString(result->state) << " " << result->cause << ": " << result->message);
    CHECK(result->message.size() <= kMaxCustomMessage);
    CHECK(result->message.find('\n') == std::string::npos);
    if (result->state != State::Ok) CHECK_FALSE(result->fix.empty());
    return *result;
  }
};

CustomProbeConfig httpProbe(std::string url, int expect = 200, Duration timeout = 2s) {
  CustomProbeConfig c;
  c.name = "web";
  c.kind = CustomProbeKind::Http;
  c.url = std::move(url);
  c.expectStatus = expect;
  c.timeout = timeout;
  return c;
}

CustomProbeConfig tcpProbe(std::string address, Duration timeout = 2s) {
  CustomProbeConfig c;
  c.name = "port";
  c.kind = CustomProbeKind::Tcp;
  c.address = std::move(address);
  c.timeout = timeout;
  return c;
}

CustomProbeConfig execProbe(std::vector<std::string> command, Duration timeout = 5s) {
  CustomProbeConfig c;
  c.name = "script";
  c.kind = CustomProbeKind::Exec;
  c.command = std::move(command);
  c.timeout = timeout;
  return c;
}

// A loopback port with nothing listening: bound, then closed.
std::uint16_t closedPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

}  // namespace

TEST_CASE("custom http: the expected status is OK", "[custom]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  Rig rig;
  ProbeResult r = rig.run(httpProbe("http://" + mds.endpoint() + "/_fake/ping"));
  CHECK(r.state == State::Ok);
  CHECK(r.cause.empty());
  // No Metadata-Flavor header is sent, so the metadata path answers 403: expect it.
  ProbeResult forbidden = rig.run(httpProbe("http://" + mds.endpoint() + kId, 403));
  CHECK(forbidden.state == State::Ok);
}

TEST_CASE("custom http: a host name is resolved on the pool", "[custom]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  Rig rig;
  // localhost comes from /etc/hosts: no network.
  ProbeResult r =
      rig.run(httpProbe("http://localhost:" + std::to_string(mds.port()) + "/_fake/ping"));
  CHECK(r.state == State::Ok);
}

TEST_CASE("custom http: another status is custom.http_status", "[custom]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.addFault(fake::statusFault(503, kId));
  mds.start();
  Rig rig;
  const std::string url = "http://" + mds.endpoint() + kId;
  ProbeResult r = rig.run(httpProbe(url));
  CHECK(r.state == State::Failed);
  CHECK(r.cause == "custom.http_status");
  CHECK(r.message == "GET " + url + ": HTTP 503, expected 200");
  CHECK(r.fix.find(url) != std::string::npos);

  const std::string missing = "http://" + mds.endpoint() + "/_fake/no-such-path";
  ProbeResult notFound = rig.run(httpProbe(missing, 200));
  CHECK(notFound.cause == "custom.http_status");
  CHECK(notFound.message == "GET " + missing + ": HTTP 404, expected 200");

  // Exactly one request per run: custom probes never retry.
  std::size_t calls = 0;
  for (const auto& record : mds.requests()) calls += record.target == kId;
  CHECK(calls == 1);
}

TEST_CASE("custom http: a closed port or a hung server is custom.http_unreachable", "[custom]") {
  Rig rig;
  const std::uint16_t port = closedPort();
  const std::string closed = "http://127.0.0.1:" + std::to_string(port) + "/healthz";
  ProbeResult refused = rig.run(httpProbe(closed));
  CHECK(refused.state == State::Failed);
  CHECK(refused.cause == "custom.http_unreachable");
  CHECK(refused.message == "GET " + closed + ": connect to 127.0.0.1:" + std::to_string(port) +
                               ": Connection refused");

  fake::FakeMds mds{withGuestAttributes()};
  mds.addFault(fake::hangFault(kId));
  mds.start();
  const std::string hung = "http://" + mds.endpoint() + kId;
  auto start = std::chrono::steady_clock::now();
  ProbeResult timeout = rig.run(httpProbe(hung, 200, 300ms));
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // far below the hang
  CHECK(timeout.cause == "custom.http_unreachable");
  CHECK(timeout.message.rfind("GET " + hung + ": read response from " + mds.endpoint(), 0) == 0);
  CHECK(timeout.message.find("timeout after") != std::string::npos);
}

TEST_CASE("custom http: https names the TLS handshake when it fails", "[custom]") {
  fake::FakeMds mds{withGuestAttributes()};  // plain HTTP: the handshake cannot succeed
  mds.start();
  Rig rig;
  ProbeResult r = rig.run(httpProbe("https://" + mds.endpoint() + "/_fake/ping"));
  CHECK(r.state == State::Failed);
  CHECK(r.cause == "custom.http_unreachable");
  CHECK(r.message.find("TLS handshake with " + mds.endpoint()) != std::string::npos);
}

TEST_CASE("custom tcp: a listening port is OK, a closed one custom.tcp_refused", "[custom]") {
  Rig rig;
  tcp::acceptor acceptor(rig.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string open = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  ProbeResult ok = rig.run(tcpProbe(open));
  CHECK(ok.state == State::Ok);
  CHECK(ok.message.find(open) != std::string::npos);

  // A name resolves on the pool (localhost comes from /etc/hosts: no network).
  ProbeResult byName =
      rig.run(tcpProbe("localhost:" + std::to_string(acceptor.local_endpoint().port())));
  CHECK(byName.state == State::Ok);

  const std::string closed = "127.0.0.1:" + std::to_string(closedPort());
  ProbeResult refused = rig.run(tcpProbe(closed));
  CHECK(refused.state == State::Failed);
  CHECK(refused.cause == "custom.tcp_refused");
  CHECK(refused.message == "connect to " + closed + ": Connection refused");
}

TEST_CASE("custom tcp: a connect that is never answered is custom.tcp_timeout", "[custom]") {
  Rig rig;
  // A listener that never accepts, with its queue filled: Linux drops further SYNs.
  tcp::acceptor acceptor(rig.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acceptor.listen(0);
  const auto endpoint = acceptor.local_endpoint();
  // Raw non-blocking connects: Asio's synchronous connect would wait for the handshake.
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(endpoint.port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> fillers;
  for (int i = 0; i < 2; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    fillers.push_back(fd);
  }
  const std::string target = "127.0.0.1:" + std::to_string(endpoint.port());
  auto start = std::chrono::steady_clock::now();
  ProbeResult r = rig.run(tcpProbe(target, 300ms));
  for (int fd : fillers) ::close(fd);
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // far below the hang
  CHECK(r.state == State::Failed);
  CHECK(r.cause == "custom.tcp_timeout");
  CHECK(r.message == "connect to " + target + ": timeout after 300ms");
}

TEST_CASE("custom exec: exit 0 is OK, another exit custom.exec_failed with its output",
          "[custom]") {
  Rig rig;
  CHECK(rig.run(execProbe({"/bin/true"})).state == State::Ok);

  ProbeResult r = rig.run(execProbe({"/bin/sh", "-c", "echo; echo '  database down  '; exit 3"}));
  CHECK(r.state == State::Failed);
  CHECK(r.cause == "custom.exec_failed");
  CHECK(r.message == "exit 3: database down");
  CHECK(r.fix.find("/bin/sh -c 'echo; echo '\\''  database down  '\\''; exit 3'") !=
        std::string::npos);

  ProbeResult silent = rig.run(execProbe({"/bin/false"}));
  CHECK(silent.message == "exit 1 (no output)");

  // A long first line is cut: one line, at most 300 characters.
  ProbeResult longLine = rig.run(execProbe({"/bin/sh", "-c", "printf '%0900d\\n' 0; exit 2"}));
  CHECK(longLine.cause == "custom.exec_failed");
  CHECK(longLine.message.size() == kMaxCustomMessage);
  CHECK(longLine.message.substr(longLine.message.size() - 3) == "...");
}

TEST_CASE("custom exec: a hung command is killed at the timeout: custom.exec_timeout", "[custom]") {
  Rig rig;
  auto start = std::chrono::steady_clock::now();
  ProbeResult r = rig.run(execProbe({"/bin/sleep", "10"}, 300ms));
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // far below the hang
  CHECK(r.state == State::Failed);
  CHECK(r.cause == "custom.exec_timeout");
  CHECK(r.message == "killed after 300ms (no output)");
  // The pool thread is free again: the command did not outlive its timeout.
  CHECK(rig.execPool->inFlight() == 0);
}

TEST_CASE("custom exec: a program that cannot run is custom.exec_error", "[custom]") {
  Rig rig;
  ProbeResult r = rig.run(execProbe({"/usr/bin/guestpulse-no-such-check", "--fast"}));
  CHECK(r.state == State::Failed);
  CHECK(r.cause == "custom.exec_error");
  CHECK(r.message == "exec /usr/bin/guestpulse-no-such-check: No such file or directory");
}

TEST_CASE("makeProbes: the metadata probe first, then the custom probes in order", "[custom]") {
  Rig rig;
  Config config;
  config.probes.custom = {httpProbe("http://127.0.0.1:1/"), tcpProbe("127.0.0.1:1"),
                          execProbe({"/bin/true"})};
  auto metadata = makeMetadataClient(config, rig.http, [] { return 0.5; });
  auto probes = makeProbes(config, ProbeDeps{*metadata, rig.http, rig.pool, nullptr});
  // The GCE probes (enabled: auto by default) come between them.
  REQUIRE(probes.size() == 7);
  CHECK(probes[0]->name() == "metadata");
  CHECK(probes[1]->name() == "workload_certs");
  CHECK(probes[2]->name() == "mds_mtls");
  CHECK(probes[3]->name() == "service_proxy");
  CHECK(probes[4]->name() == "web");
  CHECK(probes[5]->name() == "port");
  CHECK(probes[6]->name() == "script");
  CHECK(probes[6]->deadline() > 5s);
}

// Needs agent.cpp to build its probes with ProbeDeps (see probe_factory.hpp).
TEST_CASE("agent: a custom probe is reported as probe-<name> and on the serial console",
          "[custom][agent]") {
  fake::FakeMds mds{withGuestAttributes()};
  mds.start();
  TempDir dir;
  Config config = fastConfig(mds, dir);
  CustomProbeConfig script = execProbe({"/bin/sh", "-c", "echo 'queue is stuck'; exit 3"}, 2s);
  script.interval = 1s;
  config.probes.custom = {script};
  RunningAgent running(config);

  auto attribute = [&](const std::string& key) -> std::optional<std::string> {
    auto all = mds.guestAttributes();
    auto it = all.find("guestpulse/" + key);
    if (it == all.end()) return std::nullopt;
    return it->second;
  };
  REQUIRE(eventually([&] { return attribute("probe-script").has_value(); }, 8s));
  CHECK(attribute("probe-script") == "FAILED custom.exec_failed: exit 3: queue is stuck");
  CHECK(eventually([&] { return attribute("status") == "FAILED"; }, 5s));
  CHECK(eventually(
      [&] {
        return readFile(dir / "serial.log")
                   .find(
                       "probe=script state=FAILED cause=custom.exec_failed "
                       "msg=\"exit 3: queue is stuck\"") != std::string::npos;
      },
      5s));
}
