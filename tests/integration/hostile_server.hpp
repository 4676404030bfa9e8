#pragma once
// A tiny HTTP server on loopback port 0 that answers the way a broken or hostile metadata
// server, proxy or middlebox would: one scripted misbehaviour for requests whose target
// starts with a prefix, a plain healthy GCE answer (200, Metadata-Flavor: Google) for
// everything else, guest-attribute PUTs included. Blocking sockets, a thread per
// connection; every connection ends when the server stops.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace guestpulse::testing {

enum class Hostility {
  None,            // healthy answers everywhere
  TrickleHeader,   // the header one byte every 100 ms, never finished (slowloris)
  HugeHeader,      // a 100 KiB header field
  ManyHeaders,     // 10 000 header fields
  HugeBody,        // Content-Length: 200 MiB, sent as fast as it is read
  BadChunking,     // Transfer-Encoding: chunked with a chunk size that is not hex
  LengthMismatch,  // Content-Length: 5000, 10 bytes, then close
  MidBodyClose,    // chunked, one chunk, then close
  Redirect,        // 301 with a Location (Metadata-Flavor: Google, so it is the server)
  BigMessage,      // 412 with a 50 KB body holding terminal escapes
  ServerError,     // 500 (Metadata-Flavor: Google): the server itself fails the request
};

class HostileServer {
 public:
  HostileServer();
  ~HostileServer();
  // Applies `mode` to requests whose target starts with `prefix`.
  void set(Hostility mode, std::string prefix = "/computeMetadata/v1/instance/id");
  std::string endpoint() const;  // "127.0.0.1:PORT"
  std::uint64_t requests() const { return requests_; }
  std::uint64_t hostileAnswers() const { return hostile_; }
  // How many requests had this method and target, e.g. "PUT /computeMetadata/v1/...".
  std::size_t count(const std::string& methodAndTarget) const;

 private:
  void acceptLoop();
  void serve(int fd);

  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> hostile_{0};
  mutable std::mutex mutex_;
  Hostility mode_ = Hostility::None;
  std::string prefix_;
  std::vector<int> open_;          // connections, closed at stop
  std::vector<std::string> seen_;  // "METHOD TARGET" of each request, the first 100 000
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace guestpulse::testing
