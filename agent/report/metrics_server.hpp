#pragma once
// The optional Prometheus endpoint (report.metrics.listen): a small HTTP/1.1 server on
// the agent's event loop.
//
// Contract:
//  - listens on `host:port`: a numeric IPv4 or IPv6 address ("[::1]:9464") or
//    "localhost" (127.0.0.1); no name lookup. Port 0 picks a free port (see port()).
//    Any address the operator configures is accepted, but a non-loopback one is logged
//    as a warning: the endpoint has no authentication and shows the VM's diagnosis;
//  - GET (and HEAD) /metrics answers 200 with the text of `render`, called once per
//    request on the loop thread, with Content-Type kPrometheusContentType; a query
//    string is ignored. Another path: 404. Another method on /metrics: 405. A malformed
//    or oversized request: 400. `render` throwing: 500;
//  - one request per connection (`Connection: close`); the whole exchange (reading the
//    request, writing the answer) must finish within `timeout`, or the connection is
//    closed;
//  - at most `maxConnections` at once; while that many are open the server stops
//    accepting, so further clients wait in the listen backlog until a slot frees (at the
//    latest after `timeout`);
//  - never blocks the loop; never throws after construction.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agent/core/duration.hpp"

namespace guestpulse {

class MetricsServer {
 public:
  struct Options {
    std::string listen;                           // host:port, as report.metrics.listen
    Duration timeout = std::chrono::seconds(10);  // per connection
    std::size_t maxConnections = 8;
    std::size_t maxRequestBytes = 8 * 1024;  // request line, headers and body together
  };
  using Render = std::function<std::string()>;

  // Counters, readable from any thread.
  struct Counters {
    std::atomic<std::uint64_t> connections{0};  // accepted
    std::atomic<std::uint64_t> scrapes{0};      // 200 answers on /metrics
    std::atomic<std::uint64_t> errors{0};       // 4xx/5xx answers
    std::atomic<std::uint64_t> timeouts{0};     // connections closed at the deadline
    std::atomic<std::size_t> active{0};         // open now
    std::atomic<std::size_t> peakActive{0};     // most open at once
  };

  MetricsServer(boost::asio::any_io_executor executor, Options options, Render render);
  // Calls stop().
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and starts accepting. Returns "" on success, otherwise what failed, naming the
  // address: "metrics: cannot listen on 127.0.0.1:9464: Address already in use". Call on
  // the loop thread (or before the loop runs), at most once.
  std::string start();
  // Closes the listener and every open connection; idempotent. Call on the loop thread.
  void stop();

  // The bound port (useful with port 0); 0 before a successful start().
  std::uint16_t port() const;
  // "127.0.0.1:9464" once started; the configured text before.
  std::string address() const;
  const Counters& counters() const;

  struct State;  // the implementation's, shared with the coroutines that outlive a call

 private:
  std::shared_ptr<State> state_;
};

}  // namespace guestpulse
