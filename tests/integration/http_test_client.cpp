#include "tests/integration/http_test_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace guestpulse::testing {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

Client::Client(std::uint16_t port, std::chrono::milliseconds timeout, const std::string& host)
    : stream_(ioc_), timeout_(timeout) {
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host), port);
  connectError_ = run([&](auto done) { stream_.async_connect(endpoint, done); });
}

Response Client::request(http::verb method, const std::string& target, bool flavor,
                         const std::string& body, Headers headers) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "metadata.google.internal");
  if (flavor) req.set("Metadata-Flavor", "Google");
  for (const auto& [name, value] : headers) req.set(name, value);
  if (method == http::verb::put || method == http::verb::post || !body.empty()) {
    req.body() = body;
    req.prepare_payload();
  }
  Response out;
  out.ec = run([&](auto done) {
    http::async_write(stream_, req, [done](error_code ec, std::size_t) { done(ec); });
  });
  if (!out.ec) out = read();
  return out;
}

Response Client::get(const std::string& target, bool flavor) {
  return request(http::verb::get, target, flavor);
}

Response Client::sendRaw(const std::string& bytes) {
  Response out;
  out.ec = run([&](auto done) {
    asio::async_write(stream_, asio::buffer(bytes),
                      [done](error_code ec, std::size_t) { done(ec); });
  });
  if (!out.ec) out = read();
  return out;
}

Response Client::read() {
  Response out;
  out.ec = run([&](auto done) {
    http::async_read(stream_, buffer_, out.msg, [done](error_code ec, std::size_t) { done(ec); });
  });
  return out;
}

template <class Start>
error_code Client::run(Start start) {
  error_code result = asio::error::would_block;
  stream_.expires_after(timeout_);
  start([&result](error_code ec) { result = ec; });
  ioc_.restart();
  ioc_.run();
  return result;
}

}  // namespace guestpulse::testing
