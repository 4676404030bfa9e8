#pragma once
// The fake's HTTPS listener, for GCE's mTLS metadata endpoint: its own port, a server
// certificate, and (when a client CA is given) client-certificate verification with
// SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT. After the handshake it runs the very
// same HttpSession as the plain listener, so paths, faults and the request log behave
// identically. A failed handshake is not a request: it is counted, not logged.
//
// Lives on the server's io_context; internal to fake_mds_lib.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "tests/fake_mds/fake_mds.hpp"

namespace boost::asio::ssl {
class context;
}

namespace guestpulse::fake {

class Server;

class TlsListener {
 public:
  // Loads the certificate, key and client CA and binds. Throws std::runtime_error naming
  // the file or the address. Call before the io thread runs.
  TlsListener(Server& server, boost::asio::io_context& ioc, const HttpsOptions& options);
  ~TlsListener();
  TlsListener(const TlsListener&) = delete;
  TlsListener& operator=(const TlsListener&) = delete;

  std::uint16_t port() const { return port_; }
  void startAccepting();  // spawns the accept loop
  void close();           // io thread: stop accepting, drop connections still handshaking

  std::uint64_t handshakes() const { return handshakes_.load(); }
  std::uint64_t handshakeFailures() const { return handshakeFailures_.load(); }

 private:
  boost::asio::awaitable<void> acceptLoop();
  boost::asio::awaitable<void> runSession(boost::asio::ip::tcp::socket socket);

  Server& server_;
  boost::asio::io_context& ioc_;
  std::unique_ptr<boost::asio::ssl::context> context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool closed_ = false;
  std::unordered_set<boost::asio::ip::tcp::socket*> handshaking_;
  std::atomic<std::uint64_t> handshakes_{0};
  std::atomic<std::uint64_t> handshakeFailures_{0};
};

}  // namespace guestpulse::fake
