#include "tests/fake_mds/tls_listener.hpp"

#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <iostream>
#include <stdexcept>

#include "tests/fake_mds/accept_loop.hpp"
#include "tests/fake_mds/http_session.hpp"
#include "tests/fake_mds/server.hpp"

namespace guestpulse::fake {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::chrono::seconds kHandshakeTimeout{5};

std::unique_ptr<ssl::context> makeContext(const HttpsOptions& options) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  auto fail = [](const std::string& what, const std::string& file, const error_code& ec) {
    throw std::runtime_error("fake-mds: cannot load " + what + " " + file + ": " + ec.message());
  };
  context->use_certificate_chain_file(options.certFile, ec);
  if (ec) fail("server certificate", options.certFile, ec);
  context->use_private_key_file(options.keyFile, ssl::context::pem, ec);
  if (ec) fail("server key", options.keyFile, ec);
  if (!options.clientCaFile.empty()) {
    context->load_verify_file(options.clientCaFile, ec);
    if (ec) fail("client CA", options.clientCaFile, ec);
    // Tell clients which issuers are accepted, as a real server does.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.clientCaFile.c_str()))
      SSL_CTX_set_client_CA_list(context->native_handle(), names);
    ssl::verify_mode mode = ssl::verify_peer;
    if (options.requireClientCert) mode |= ssl::verify_fail_if_no_peer_cert;
    context->set_verify_mode(mode);
  }
  return context;
}

}  // namespace

TlsListener::TlsListener(Server& server, asio::io_context& ioc, const HttpsOptions& options)
    : server_(server), ioc_(ioc), context_(makeContext(options)), acceptor_(ioc) {
  const std::string where = options.listen.host + ":" + std::to_string(options.listen.port);
  error_code ec;
  auto ip = asio::ip::make_address(options.listen.host, ec);
  if (ec) throw std::runtime_error("fake-mds: invalid HTTPS listen address " + where);
  tcp::endpoint endpoint(ip, options.listen.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("fake-mds: cannot listen (HTTPS) on " + where + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
}

TlsListener::~TlsListener() = default;

void TlsListener::startAccepting() { asio::co_spawn(ioc_, acceptLoop(), asio::detached); }

void TlsListener::close() {
  closed_ = true;
  error_code ec;
  acceptor_.close(ec);
  for (tcp::socket* socket : handshaking_) socket->close(ec);
}

asio::awaitable<void> TlsListener::acceptLoop() {
  // Named locals, not temporaries in the co_await: GCC 12 destroys those twice.
  auto stopped = [this] { return closed_ || server_.stopping(); };
  auto serve = [this](tcp::socket socket) {
    asio::co_spawn(ioc_, runSession(std::move(socket)), asio::detached);
  };
  co_await acceptConnections(acceptor_, stopped, serve);
}

asio::awaitable<void> TlsListener::runSession(tcp::socket socket) {
  try {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *context_);
    tcp::socket* raw = &beast::get_lowest_layer(stream).socket();
    handshaking_.insert(raw);
    beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
    error_code ec;
    co_await stream.async_handshake(ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    handshaking_.erase(raw);
    if (ec || closed_) {
      // The client has the alert (certificate required, unknown CA, ...); nothing to log.
      ++handshakeFailures_;
      co_return;
    }
    ++handshakes_;
    beast::get_lowest_layer(stream).expires_never();
    HttpSession<beast::ssl_stream<beast::tcp_stream>> session(server_, std::move(stream));
    co_await session.run();
  } catch (const std::exception& e) {
    std::cerr << "fake-mds: HTTPS session failed: " << e.what() << "\n";
  }
}

}  // namespace guestpulse::fake
