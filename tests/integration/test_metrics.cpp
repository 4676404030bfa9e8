// The Prometheus endpoint over real loopback sockets: a MetricsServer on 127.0.0.1:0
// with a fake render callback, and a raw Beast client. The served exposition is checked
// with `promtool check metrics` (Debian package `prometheus`).

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <thread>

#include "agent/health/health_model.hpp"
#include "agent/report/metrics.hpp"
#include "agent/report/metrics_server.hpp"
#include "agent/report/serial_sink.hpp"
#include "tests/integration/harness.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// A MetricsServer started on its own io_context thread, as the agent runs it.
class ServerThread {
 public:
  ServerThread(MetricsServer::Options options, MetricsServer::Render render)
      : server_(io_.get_executor(), std::move(options), std::move(render)) {
    startError_ = server_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ServerThread() { stop(); }
  // Stops on the loop thread and joins: returns only when every connection has ended,
  // since the loop runs out of work only then.
  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] { server_.stop(); });
    thread_.join();
  }
  const std::string& startError() const { return startError_; }
  std::uint16_t port() const { return server_.port(); }
  const MetricsServer::Counters& counters() const { return server_.counters(); }
  const MetricsServer& server() const { return server_; }

 private:
  asio::io_context io_;
  MetricsServer server_;
  std::string startError_;
  std::thread thread_;
};

struct Reply {
  int status = 0;
  std::string contentType;
  std::string contentLength;
  std::string allow;
  std::string connection;
  std::string body;
  std::string error;  // transport failure, if any
};

asio::awaitable<void> exchange(std::uint16_t port, std::string raw, bool head, Reply& reply) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(10s);
  tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
  auto [connectError] = co_await stream.async_connect(server, asio::as_tuple(asio::use_awaitable));
  if (connectError) {
    reply.error = "connect: " + connectError.message();
    co_return;
  }
  auto [writeError, written] =
      co_await asio::async_write(stream, asio::buffer(raw), asio::as_tuple(asio::use_awaitable));
  if (writeError) {
    reply.error = "write: " + writeError.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  if (head) parser.skip(true);
  auto [readError, read] =
      co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (readError) {
    reply.error = "read: " + readError.message();
    co_return;
  }
  const auto& res = parser.get();
  reply.status = static_cast<int>(res.result_int());
  reply.contentType = std::string(res[http::field::content_type]);
  reply.contentLength = std::string(res[http::field::content_length]);
  reply.allow = std::string(res[http::field::allow]);
  reply.connection = std::string(res[http::field::connection]);
  reply.body = res.body();
}

// Sends `raw` bytes as the request and reads one HTTP response.
Reply send(std::uint16_t port, std::string raw, bool head = false) {
  asio::io_context io;
  Reply reply;
  asio::co_spawn(io, exchange(port, std::move(raw), head, reply), asio::detached);
  io.run();
  return reply;
}

Reply request(std::uint16_t port, const std::string& method, const std::string& target) {
  return send(port, method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
              method == "HEAD");
}

// A client connection that sends nothing.
struct IdleClient {
  asio::io_context io;
  tcp::socket socket{io};
  explicit IdleClient(std::uint16_t port) {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  // Waits (at most `bound`) for the server to close the connection; true if it did.
  bool closedByServer(std::chrono::milliseconds bound) {
    timeval tv{static_cast<time_t>(bound.count() / 1000),
               static_cast<suseconds_t>((bound.count() % 1000) * 1000)};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char byte;
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
};

MetricsServer::Options loopback(std::size_t maxConnections = 8, Duration timeout = 10s) {
  MetricsServer::Options options;
  options.listen = "127.0.0.1:0";
  options.maxConnections = maxConnections;
  options.timeout = timeout;
  return options;
}

std::optional<std::string> findPromtool() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/bin";
  std::istringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/promtool";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

struct ToolResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr
};

// `promtool check metrics` with `body` on its stdin. Fails the test when promtool is
// missing: the check is part of the contract, not optional.
ToolResult promtoolCheck(const std::string& body) {
  std::optional<std::string> promtool = findPromtool();
  if (!promtool) {
    FAIL(
        "promtool not found in PATH: install the Debian package 'prometheus' "
        "(packaging/install-deps.sh does) to validate the metrics exposition");
  }
  testing::TempDir dir;
  testing::writeFile(dir / "metrics.txt", body);
  std::string command =
      "'" + *promtool + "' check metrics < '" + (dir / "metrics.txt").string() + "' 2>&1";
  ToolResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char chunk[4096];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;)
    result.output.append(chunk, n);
  int status = ::pclose(pipe);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace

TEST_CASE("GET /metrics answers the rendered text, rendering once per request", "[metrics]") {
  std::atomic<int> renders{0};
  ServerThread server(loopback(), [&] {
    ++renders;
    return "# HELP x_total a counter\n# TYPE x_total counter\nx_total " +
           std::to_string(renders.load()) + "\n";
  });
  REQUIRE(server.startError().empty());
  REQUIRE(server.port() != 0);
  CHECK(server.server().address() == "127.0.0.1:" + std::to_string(server.port()));

  Reply first = request(server.port(), "GET", "/metrics");
  REQUIRE(first.error.empty());
  CHECK(first.status == 200);
  CHECK(first.contentType == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(first.connection == "close");
  CHECK(first.body == "# HELP x_total a counter\n# TYPE x_total counter\nx_total 1\n");
  Reply second = request(server.port(), "GET", "/metrics?name[]=x");
  CHECK(second.status == 200);
  CHECK(second.body.find("x_total 2\n") != std::string::npos);
  CHECK(renders == 2);
  CHECK(server.counters().scrapes == 2);
}

TEST_CASE("other paths get 404, other methods 405, HEAD the headers only", "[metrics]") {
  std::atomic<int> renders{0};
  ServerThread server(loopback(), [&] {
    ++renders;
    return std::string("up 1\n");
  });
  REQUIRE(server.startError().empty());

  CHECK(request(server.port(), "GET", "/").status == 404);
  CHECK(request(server.port(), "GET", "/metricsx").status == 404);
  CHECK(request(server.port(), "POST", "/other").status == 404);
  Reply post = request(server.port(), "POST", "/metrics");
  CHECK(post.status == 405);
  CHECK(post.allow == "GET, HEAD");
  CHECK(request(server.port(), "DELETE", "/metrics").status == 405);
  CHECK(renders == 0);

  Reply head = request(server.port(), "HEAD", "/metrics");
  REQUIRE(head.error.empty());
  CHECK(head.status == 200);
  CHECK(head.contentType == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(head.contentLength == "5");
  CHECK(head.body.empty());
  CHECK(server.counters().errors == 5);
}

TEST_CASE("malformed and oversized requests get 400, a throwing render 500", "[metrics]") {
  std::atomic<bool> fail{false};
  ServerThread server(loopback(), [&]() -> std::string {
    if (fail) throw std::runtime_error("boom");
    return "up 1\n";
  });
  REQUIRE(server.startError().empty());

  CHECK(send(server.port(), "NOT HTTP AT ALL\r\n\r\n").status == 400);
  std::string huge =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'a') + "\r\n\r\n";
  Reply big = send(server.port(), huge);
  // The server answers 400 after reading its limit; the client may see the reset of the
  // unread rest instead. Either way no 200, and the server keeps serving.
  CHECK(big.status != 200);
  fail = true;
  CHECK(request(server.port(), "GET", "/metrics").status == 500);
  fail = false;
  CHECK(request(server.port(), "GET", "/metrics").status == 200);
}

TEST_CASE("concurrent clients are all served within the connection cap", "[metrics]") {
  ServerThread server(loopback(8), [] { return std::string(64 * 1024, '#') + "\nup 1\n"; });
  REQUIRE(server.startError().empty());

  constexpr int kClients = 16, kEach = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        if (request(server.port(), "GET", "/metrics").status == 200) ++ok;
    });
  }
  for (auto& t : clients) t.join();
  CHECK(ok == kClients * kEach);
  CHECK(server.counters().scrapes == kClients * kEach);
  CHECK(server.counters().peakActive <= 8);
  CHECK(server.counters().peakActive >= 1);
}

TEST_CASE("at the cap, a further client waits until a slot frees", "[metrics]") {
  ServerThread server(loopback(2, 400ms), [] { return std::string("up 1\n"); });
  REQUIRE(server.startError().empty());

  IdleClient a(server.port()), b(server.port());
  REQUIRE(testing::eventually([&] { return server.counters().active == 2; }, 2s));
  auto began = std::chrono::steady_clock::now();
  Reply reply = request(server.port(), "GET", "/metrics");
  auto waited = std::chrono::steady_clock::now() - began;
  CHECK(reply.status == 200);
  // Served only after the idle connections hit their deadline.
  CHECK(waited >= 250ms);
  CHECK(server.counters().timeouts >= 1);
  CHECK(server.counters().peakActive == 2);
}

TEST_CASE("an idle connection is closed at the deadline", "[metrics]") {
  ServerThread server(loopback(8, 200ms), [] { return std::string("up 1\n"); });
  REQUIRE(server.startError().empty());
  IdleClient idle(server.port());
  CHECK(idle.closedByServer(3s));
  CHECK(testing::eventually([&] { return server.counters().timeouts == 1; }, 2s));
  CHECK(testing::eventually([&] { return server.counters().active == 0; }, 2s));
}

TEST_CASE("stop closes the listener and open connections", "[metrics]") {
  ServerThread server(loopback(8, 60s), [] { return std::string("up 1\n"); });
  REQUIRE(server.startError().empty());
  const std::uint16_t port = server.port();
  IdleClient idle(port);
  REQUIRE(testing::eventually([&] { return server.counters().active == 1; }, 2s));
  server.stop();  // returns only once every connection coroutine has ended
  CHECK(idle.closedByServer(2s));
  Reply after = request(port, "GET", "/metrics");
  CHECK(after.status == 0);
  CHECK(after.error.rfind("connect:", 0) == 0);
}

TEST_CASE("start reports bind failures and addresses it will not look up", "[metrics]") {
  ServerThread first(loopback(), [] { return std::string("up 1\n"); });
  REQUIRE(first.startError().empty());
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());

  asio::io_context io;
  auto render = [] { return std::string("up 1\n"); };
  MetricsServer::Options options;
  options.listen = taken;
  MetricsServer busy(io.get_executor(), options, render);
  std::string error = busy.start();
  INFO(error);
  CHECK(error.find("cannot listen on " + taken) != std::string::npos);
  CHECK(error.find("in use") != std::string::npos);

  options.listen = "metrics.example:9464";
  std::string name = MetricsServer(io.get_executor(), options, render).start();
  CHECK(name.find("not a numeric address") != std::string::npos);
  options.listen = "127.0.0.1:70000";
  CHECK(MetricsServer(io.get_executor(), options, render).start().find("not a port") !=
        std::string::npos);
  options.listen = "127.0.0.1";
  CHECK_FALSE(MetricsServer(io.get_executor(), options, render).start().empty());

  options.listen = "localhost:0";
  MetricsServer local(io.get_executor(), options, render);
  CHECK(local.start().empty());
  CHECK(local.address().rfind("127.0.0.1:", 0) == 0);
  local.stop();
}

TEST_CASE("promtool accepts the agent's exposition as served", "[metrics]") {
  HealthModel model;
  model.addProbe("metadata");
  model.addProbe("workload_certs");
  model.addProbe("custom-app");  // custom probe names may hold '-'
  Timestamp now = Timestamp::now();
  model.update(
      "metadata",
      ProbeResult::failed("net.connection_refused", "connect \"refused\"\nby \\ rule", "fix"), now);
  model.update("workload_certs", ProbeResult::info("workload_certs.not_configured", "404"), now);

  testing::TempDir dir;
  SerialConsoleSink serial((dir / "serial.log").string());
  serial.post("guestpulse: line one");
  serial.post("guestpulse: line two");
  REQUIRE(serial.flush(5s));

  MetadataCounters mds{10, 3, 2};
  MetricsSnapshot snapshot =
      snapshotFrom(model, mds, static_cast<const GuestAttributeSink*>(nullptr), &serial,
                   WallClock::now() - 1h, "0.1.0");
  snapshot.guestAttributes = GuestAttributeMetrics{{4, 6, 2, 1, 0}, 3, true};
  const std::string rendered = renderPrometheus(snapshot);
  serial.stop();

  ServerThread server(loopback(), [&] { return rendered; });
  REQUIRE(server.startError().empty());
  Reply reply = request(server.port(), "GET", "/metrics");
  REQUIRE(reply.status == 200);
  CHECK(reply.body == rendered);
  CHECK(reply.body.find("guestpulse_serial_lines_written_total 2\n") != std::string::npos);
  CHECK(reply.body.find(R"(guestpulse_probe_state{probe="custom-app"} -1)") != std::string::npos);

  ToolResult check = promtoolCheck(reply.body);
  INFO(reply.body);
  INFO(check.output);
  CHECK(check.exitCode == 0);
  CHECK(check.output.empty());
}

TEST_CASE("promtool rejects an exposition that breaks the conventions", "[metrics]") {
  // A sanity check of the check itself: a counter without _total is a lint error.
  ToolResult check = promtoolCheck("# HELP bad_count a\n# TYPE bad_count counter\nbad_count 1\n");
  INFO(check.output);
  CHECK(check.exitCode != 0);
  CHECK(check.output.find("_total") != std::string::npos);
}
