#include "agent/report/metrics_server.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <map>
#include <optional>

#include "agent/core/logging.hpp"
#include "agent/report/metrics.hpp"

#ifndef GUESTPULSE_VERSION
#define GUESTPULSE_VERSION "dev"
#endif

namespace guestpulse {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

struct MetricsServer::State {
  State(asio::any_io_executor ex, Options opts, Render r)
      : executor(ex), options(std::move(opts)), render(std::move(r)), acceptor(ex), slotFreed(ex) {}

  asio::any_io_executor executor;
  Options options;
  Render render;
  tcp::acceptor acceptor;
  asio::steady_timer slotFreed;  // wakes the accept loop when a connection ends (or on stop)
  std::map<std::uint64_t, std::shared_ptr<beast::tcp_stream>> open;  // to close on stop()
  std::uint64_t nextId = 0;
  Counters counters;
  std::atomic<std::uint16_t> port{0};
  std::string address;
  bool started = false;
  bool stopped = false;
};

namespace {

// host:port with a numeric host, "[v6]:port" or "localhost:port"; nullopt with `error` set
// otherwise. No name lookup: that could block, and the address must be what was asked.
std::optional<tcp::endpoint> parseListen(const std::string& text, std::string& error) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "expected [address]:port";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      error = "expected host:port";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number > 65535) {
    error = "'" + port + "' is not a port number";
    return std::nullopt;
  }
  if (host == "localhost") host = "127.0.0.1";
  error_code addressError;
  auto address = asio::ip::make_address(host, addressError);
  if (addressError) {
    error = "'" + host +
            "' is not a numeric address (names are not looked up; use an IP or "
            "localhost)";
    return std::nullopt;
  }
  return tcp::endpoint(address, static_cast<std::uint16_t>(number));
}

std::string display(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

bool isLoopback(const asio::ip::address& address) {
  if (address.is_v4()) return address.to_v4().is_loopback();
  const auto v6 = address.to_v6();
  return v6.is_loopback() ||
         (v6.is_v4_mapped() && asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback());
}

http::response<http::string_body> makeResponse(http::status status, std::string body,
                                               std::string_view contentType) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::server, "guestpulse/" GUESTPULSE_VERSION);
  res.set(http::field::content_type, contentType);
  res.keep_alive(false);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// What to answer a complete request. Only the path counts; a query string is ignored.
http::response<http::string_body> answer(MetricsServer::State& state,
                                         const http::request<http::string_body>& req) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") {
    return makeResponse(http::status::not_found, "not found; metrics are at /metrics\n",
                        "text/plain; charset=utf-8");
  }
  const bool head = req.method() == http::verb::head;
  if (req.method() != http::verb::get && !head) {
    auto res = makeResponse(http::status::method_not_allowed, "only GET and HEAD\n",
                            "text/plain; charset=utf-8");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  std::string body;
  try {
    body = state.render();
  } catch (const std::exception& e) {
    logger("metrics")->error("rendering metrics failed: {}", e.what());
    return makeResponse(http::status::internal_server_error, "rendering metrics failed\n",
                        "text/plain; charset=utf-8");
  }
  auto res = makeResponse(http::status::ok, std::move(body), kPrometheusContentType);
  if (head) {
    // Same headers as GET, Content-Length included, but no body.
    res.body().clear();
  }
  return res;
}

void noteConnectionOpened(MetricsServer::Counters& counters) {
  ++counters.connections;
  std::size_t now = ++counters.active;
  std::size_t peak = counters.peakActive.load();
  while (now > peak && !counters.peakActive.compare_exchange_weak(peak, now)) {
  }
}

asio::awaitable<void> serveConnection(std::shared_ptr<MetricsServer::State> state,
                                      tcp::socket socket) {
  auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
  const std::uint64_t id = state->nextId++;
  state->open.emplace(id, stream);
  struct Release {
    std::shared_ptr<MetricsServer::State> state;
    std::uint64_t id;
    ~Release() {
      state->open.erase(id);
      --state->counters.active;
      state->slotFreed.cancel();
    }
  } release{state, id};

  // One deadline for the whole exchange: a slow client cannot hold a slot longer.
  stream->expires_after(state->options.timeout);
  beast::flat_buffer buffer(state->options.maxRequestBytes);
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(state->options.maxRequestBytes));
  parser.body_limit(state->options.maxRequestBytes);
  auto [readError, bytesRead] =
      co_await http::async_read(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (state->stopped) co_return;
  if (readError == beast::error::timeout) {
    ++state->counters.timeouts;
    co_return;
  }
  if (readError == http::error::end_of_stream || readError == asio::error::connection_reset ||
      readError == asio::error::operation_aborted) {
    co_return;  // the client went away
  }

  http::response<http::string_body> res;
  if (readError) {
    // Malformed, or past the size limits.
    res = makeResponse(http::status::bad_request, "bad request: " + readError.message() + "\n",
                       "text/plain; charset=utf-8");
  } else {
    res = answer(*state, parser.get());
  }
  if (res.result() == http::status::ok)
    ++state->counters.scrapes;
  else
    ++state->counters.errors;

  auto [writeError, bytesWritten] =
      co_await http::async_write(*stream, res, asio::as_tuple(asio::use_awaitable));
  if (writeError == beast::error::timeout) ++state->counters.timeouts;
  if (!writeError) {
    error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  stream->close();
}

asio::awaitable<void> acceptLoop(std::shared_ptr<MetricsServer::State> state) {
  auto log = logger("metrics");
  while (!state->stopped) {
    if (state->counters.active.load() >= state->options.maxConnections) {
      // Full: leave further clients in the listen backlog until a connection ends.
      state->slotFreed.expires_at(asio::steady_timer::time_point::max());
      co_await state->slotFreed.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto [ec, socket] = co_await state->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (state->stopped) co_return;
    if (ec) {
      // EMFILE and the like: say so and pause, rather than spin on the error.
      log->warn("metrics: accept on {}: {}", state->address, ec.message());
      state->slotFreed.expires_after(std::chrono::milliseconds(500));
      co_await state->slotFreed.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    noteConnectionOpened(state->counters);
    asio::co_spawn(state->executor, serveConnection(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

MetricsServer::MetricsServer(asio::any_io_executor executor, Options options, Render render)
    : state_(std::make_shared<State>(std::move(executor), std::move(options), std::move(render))) {
  state_->address = state_->options.listen;
}

MetricsServer::~MetricsServer() { stop(); }

std::string MetricsServer::start() {
  State& s = *state_;
  const std::string where = "metrics: cannot listen on " + s.options.listen + ": ";
  if (s.started) return where + "already started";
  if (s.stopped) return where + "server stopped";
  std::string parseError;
  std::optional<tcp::endpoint> endpoint = parseListen(s.options.listen, parseError);
  if (!endpoint) return where + parseError;

  error_code ec;
  s.acceptor.open(endpoint->protocol(), ec);
  if (ec) return where + "open: " + ec.message();
  s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(*endpoint, ec);
  error_code ignored;
  if (ec) {
    s.acceptor.close(ignored);
    return where + ec.message();
  }
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.close(ignored);
    return where + "listen: " + ec.message();
  }
  tcp::endpoint bound = s.acceptor.local_endpoint(ec);
  s.port = ec ? endpoint->port() : bound.port();
  s.address = display(ec ? *endpoint : bound);
  s.started = true;

  auto log = logger("metrics");
  if (isLoopback(endpoint->address())) {
    log->info("serving Prometheus metrics on http://{}/metrics", s.address);
  } else {
    log->warn(
        "serving Prometheus metrics on http://{}/metrics, which is not a loopback "
        "address: anyone who can reach it can read the VM's diagnosis, and there is no "
        "authentication; prefer 127.0.0.1 or restrict it with a firewall",
        s.address);
  }
  asio::co_spawn(s.executor, acceptLoop(state_), asio::detached);
  return {};
}

void MetricsServer::stop() {
  State& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  error_code ignored;
  s.acceptor.close(ignored);
  s.slotFreed.cancel();
  // Closing cancels the pending read or write; each connection then ends by itself.
  auto open = s.open;
  for (auto& [id, stream] : open) stream->socket().close(ignored);
}

std::uint16_t MetricsServer::port() const { return state_->port.load(); }
std::string MetricsServer::address() const { return state_->address; }
const MetricsServer::Counters& MetricsServer::counters() const { return state_->counters; }

}  // namespace guestpulse
