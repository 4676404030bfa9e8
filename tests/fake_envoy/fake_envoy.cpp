#include "tests/fake_envoy/fake_envoy.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/fake_envoy/config_dumps.hpp"

namespace guestpulse::fake {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kDripLimit = std::chrono::minutes(10);

const char* kModes[] = {"configured", "no_listeners", "warming", "huge",
                        "endless",    "drip",         "deep",    "garbage"};

std::string head(int status, const std::string& type, std::optional<std::size_t> length) {
  std::string reason = status == 200 ? "OK" : status == 503 ? "Service Unavailable" : "Status";
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                     "\r\nContent-Type: " + type + "\r\nServer: envoy\r\n";
  text += length ? "Content-Length: " + std::to_string(*length) + "\r\n"
                 : std::string("Transfer-Encoding: chunked\r\n");
  return text + "Connection: close\r\n\r\n";
}

json::object toJson(const EnvoyAnswers& a) {
  return {{"ready_status", a.readyStatus},
          {"ready_body", a.readyBody},
          {"version", a.version},
          {"state", a.state},
          {"config_dump", toString(a.configDump)},
          {"huge_mib", a.hugeMib},
          {"hang", a.hang}};
}

// Members present in `o` replace those of `a`; false with a reason when one is wrong.
bool update(const json::object& o, EnvoyAnswers& a, std::string& why) {
  try {
    if (auto* v = o.if_contains("ready_status")) a.readyStatus = static_cast<int>(v->as_int64());
    if (auto* v = o.if_contains("ready_body")) a.readyBody = std::string(v->as_string());
    if (auto* v = o.if_contains("version")) a.version = std::string(v->as_string());
    if (auto* v = o.if_contains("state")) a.state = std::string(v->as_string());
    if (auto* v = o.if_contains("huge_mib")) a.hugeMib = static_cast<std::size_t>(v->as_int64());
    if (auto* v = o.if_contains("hang")) a.hang = v->as_bool();
    if (auto* v = o.if_contains("config_dump")) {
      if (!parseConfigDumpMode(std::string(v->as_string()), a.configDump)) {
        why = "unknown config_dump mode";
        return false;
      }
    }
  } catch (const std::exception& e) {
    why = std::string("wrong type: ") + e.what();
    return false;
  }
  return true;
}

}  // namespace

const char* toString(ConfigDumpMode mode) { return kModes[static_cast<int>(mode)]; }

bool parseConfigDumpMode(const std::string& text, ConfigDumpMode& out) {
  for (int i = 0; i < 8; ++i) {
    if (text == kModes[i]) {
      out = static_cast<ConfigDumpMode>(i);
      return true;
    }
  }
  return false;
}

class FakeEnvoy::Impl {
 public:
  explicit Impl(FakeEnvoyOptions options)
      : options_(std::move(options)), answers_(options_.answers) {}

  void start() {
    boost::system::error_code ec;
    tcp::endpoint at(asio::ip::make_address(options_.bindAddress, ec), options_.port);
    if (ec) throw std::runtime_error("fake-envoy: bad address " + options_.bindAddress);
    acceptor_.open(at.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(at, ec);
    if (ec)
      throw std::runtime_error("fake-envoy: cannot listen on " + options_.bindAddress + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, acceptLoop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      stopping_ = true;
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      for (auto& socket : sockets_) socket.close(ignored);
    });
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  EnvoyAnswers answers() const {
    std::lock_guard lock(mutex_);
    return answers_;
  }
  void setAnswers(EnvoyAnswers a) {
    std::lock_guard lock(mutex_);
    answers_ = std::move(a);
  }
  std::atomic<std::uint64_t> requests{0}, dumpBytes{0};

 private:
  asio::awaitable<void> acceptLoop() {
    while (!stopping_) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (stopping_ || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      sockets_.push_back(std::move(socket));
      auto it = std::prev(sockets_.end());
      asio::co_spawn(io_, serve(*it), [this, it](std::exception_ptr) { sockets_.erase(it); });
    }
  }

  asio::awaitable<void> send(tcp::socket& socket, std::string data) {
    auto [ec, n] =
        co_await asio::async_write(socket, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
    if (ec) throw boost::system::system_error(ec);
  }

  asio::awaitable<void> serve(tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    auto [ec, n] =
        co_await http::async_read(socket, buffer, request, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    std::string target(request.target());
    const EnvoyAnswers a = answers();
    if (target.rfind("/_fake/", 0) == 0) {
      std::string body = control(request, target);
      co_await send(
          socket,
          head(body.rfind("{\"error", 0) == 0 ? 400 : 200, "application/json", body.size()) + body);
      co_return;
    }
    ++requests;
    if (a.hang) {
      char sink[256];
      while (true) {  // until the client closes (or stop())
        auto [readError, got] = co_await socket.async_read_some(
            asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
        if (readError) co_return;
      }
    }
    const std::string path = target.substr(0, target.find('?'));
    if (path == "/ready") {
      co_await send(socket, head(a.readyStatus, "text/plain", a.readyBody.size()) + a.readyBody);
    } else if (path == "/server_info") {
      std::string body = serverInfoBody(a.version, a.state);
      co_await send(socket, head(200, "application/json", body.size()) + body);
    } else if (path == "/config_dump") {
      co_await sendDump(socket, a);
    } else {
      std::string body = "invalid path. admin commands are:\n";
      co_await send(socket, head(404, "text/plain", body.size()) + body);
    }
  }

  asio::awaitable<void> sendDump(tcp::socket& socket, const EnvoyAnswers& a) {
    DumpBody body(a.configDump, a.hugeMib << 20);
    const bool chunked = body.chunked();
    co_await send(socket, head(200, "application/json",
                               chunked ? std::nullopt : std::optional(body.length())));
    asio::steady_timer pause(io_);
    const auto start = std::chrono::steady_clock::now();
    bool first = true;
    for (std::string piece = body.next(); !piece.empty(); piece = body.next()) {
      if (!first && body.pause().count() > 0) {
        if (std::chrono::steady_clock::now() - start > kDripLimit) co_return;
        pause.expires_after(body.pause());
        co_await pause.async_wait(asio::use_awaitable);
      }
      first = false;
      const std::size_t size = piece.size();
      if (chunked) {
        char hex[20];
        std::snprintf(hex, sizeof hex, "%zx\r\n", size);
        piece = hex + piece + "\r\n";
      }
      co_await send(socket, std::move(piece));
      dumpBytes += size;
    }
    if (chunked) co_await send(socket, "0\r\n\r\n");
  }

  std::string control(const http::request<http::string_body>& request, const std::string& target) {
    if (target == "/_fake/stats")
      return json::serialize(json::object{{"requests", requests.load()},
                                          {"config_dump_bytes_sent", dumpBytes.load()}});
    if (target != "/_fake/answers") return R"({"error": "unknown control path"})";
    if (request.method() == http::verb::put || request.method() == http::verb::post) {
      boost::system::error_code ec;
      json::value body = json::parse(request.body(), ec);
      std::string why = "body is not a JSON object";
      EnvoyAnswers a = answers();
      if (ec || !body.is_object() || !update(body.as_object(), a, why))
        return json::serialize(json::object{{"error", why}});
      setAnswers(a);
    }
    return json::serialize(toJson(answers()));
  }

  FakeEnvoyOptions options_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::list<tcp::socket> sockets_;  // io thread only
  bool stopping_ = false;           // io thread only
  std::uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  EnvoyAnswers answers_;
};

FakeEnvoy::FakeEnvoy(FakeEnvoyOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeEnvoy::~FakeEnvoy() { stop(); }
void FakeEnvoy::start() { impl_->start(); }
void FakeEnvoy::stop() { impl_->stop(); }
std::uint16_t FakeEnvoy::port() const { return impl_->port(); }
std::string FakeEnvoy::endpoint() const { return "127.0.0.1:" + std::to_string(port()); }
EnvoyAnswers FakeEnvoy::answers() const { return impl_->answers(); }
void FakeEnvoy::setAnswers(EnvoyAnswers answers) { impl_->setAnswers(std::move(answers)); }
std::uint64_t FakeEnvoy::requests() const { return impl_->requests.load(); }
std::uint64_t FakeEnvoy::configDumpBytesSent() const { return impl_->dumpBytes.load(); }

}  // namespace guestpulse::fake
