#pragma once
// A blocking HTTP/1.1 test client over one keep-alive connection, for the fake metadata
// server's own tests: raw Beast, never the agent's client, which the fake exists to test.
// Every step runs on a private io_context with a tcp_stream deadline, so a misbehaving
// server fails the test instead of hanging it.

#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace guestpulse::testing {

struct Response {
  boost::system::error_code ec;
  boost::beast::http::response<boost::beast::http::string_body> msg;

  int status() const { return static_cast<int>(msg.result_int()); }
  bool has(std::string_view name) const { return msg.find(name) != msg.end(); }
  std::string header(std::string_view name) const {
    auto it = msg.find(name);
    return it == msg.end() ? std::string() : std::string(it->value());
  }
};

class Client {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  explicit Client(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(3),
                  const std::string& host = "127.0.0.1");

  boost::system::error_code connectError() const { return connectError_; }

  // `flavor` adds `Metadata-Flavor: Google` (GCE's header).
  Response request(boost::beast::http::verb method, const std::string& target, bool flavor = true,
                   const std::string& body = {}, Headers headers = {});
  Response get(const std::string& target, bool flavor = true);
  Response sendRaw(const std::string& bytes);
  Response read();

 private:
  template <class Start>
  boost::system::error_code run(Start start);

  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_;
  boost::system::error_code connectError_;
};

}  // namespace guestpulse::testing
