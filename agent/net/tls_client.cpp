#include "agent/net/tls_client.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "agent/net/http_exchange.hpp"

namespace guestpulse {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;

namespace {

std::string lastOpenSslError() {
  unsigned long code = ERR_peek_last_error();
  if (code == 0) return {};
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// Why a file could not be used: missing and unreadable read better than OpenSSL's text.
std::string fileProblem(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::strerror(errno);
  return {};
}

}  // namespace

TlsContextProvider::TlsContextProvider()
    : context_(std::make_unique<ssl::context>(ssl::context::tls_client)) {}
TlsContextProvider::~TlsContextProvider() = default;

std::unique_ptr<TlsContextProvider> TlsContextProvider::create(const TlsOptions& options,
                                                                TlsLoadError& error) {
  std::unique_ptr<TlsContextProvider> provider(new TlsContextProvider());
  ssl::context& ctx = *provider->context_;
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx.set_verify_mode(ssl::verify_peer, ec);

  if (options.caFile.empty()) {
    ctx.set_default_verify_paths(ec);
  } else if (std::string why = fileProblem(options.caFile); !why.empty()) {
    error = {TlsLoadStep::CaFile, "cannot read CA file " + options.caFile + ": " + why};
    return nullptr;
  } else {
    ctx.load_verify_file(options.caFile, ec);
    if (ec) {
      error = {TlsLoadStep::CaFile, "cannot load CA file " + options.caFile + ": " +
                                        (lastOpenSslError().empty() ? ec.message() : lastOpenSslError())};
      return nullptr;
    }
  }

  if (!options.clientCertFile.empty()) {
    if (std::string why = fileProblem(options.clientCertFile); !why.empty()) {
      error = {TlsLoadStep::ClientCert,
               "cannot read client certificate " + options.clientCertFile + ": " + why};
      return nullptr;
    }
    ctx.use_certificate_chain_file(options.clientCertFile, ec);
    if (ec) {
      error = {TlsLoadStep::ClientCert, "cannot load client certificate from " +
                                            options.clientCertFile + ": " + ec.message()};
      ERR_clear_error();
      return nullptr;
    }
    const std::string& keyFile =
        options.clientKeyFile.empty() ? options.clientCertFile : options.clientKeyFile;
    if (std::string why = fileProblem(keyFile); !why.empty()) {
      error = {TlsLoadStep::ClientKey, "cannot read client key " + keyFile + ": " + why};
      return nullptr;
    }
    ctx.use_private_key_file(keyFile, ssl::context::pem, ec);
    if (ec) {
      error = {TlsLoadStep::ClientKey, "cannot load client key from " + keyFile + ": " + ec.message()};
      ERR_clear_error();
      return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      error = {TlsLoadStep::KeyMismatch, "client key in " + keyFile +
                                             " does not match the certificate in " +
                                             options.clientCertFile};
      ERR_clear_error();
      return nullptr;
    }
  }
  return provider;
}

asio::awaitable<HttpResult> exchangeTls(asio::any_io_executor executor, HttpRequest req,
                                        std::vector<asio::ip::tcp::endpoint> endpoints,
                                        ExchangeClock clock, TlsContextProvider* tls,
                                        HttpResult result) {
  std::unique_ptr<TlsContextProvider> systemDefault;
  if (!tls) {
    TlsLoadError loadError;
    systemDefault = TlsContextProvider::create({}, loadError);
    if (!systemDefault) {
      result.failedStep = HttpStep::Handshake;
      result.error = asio::error::invalid_argument;
      result.tlsDetail = loadError.message;
      co_return result;
    }
    tls = systemDefault.get();
  }
  beast::ssl_stream<beast::tcp_stream> stream(executor, tls->context());
  const std::string& serverName = req.tlsServerName.empty() ? req.host : req.tlsServerName;
  SSL* handle = stream.native_handle();
  // SNI only for names, never for address literals (RFC 6066).
  boost::system::error_code literalError;
  asio::ip::make_address(serverName, literalError);
  if (literalError) SSL_set_tlsext_host_name(handle, serverName.c_str());
  // Verify the peer's name (or IP) against the certificate, like curl does.
  X509_VERIFY_PARAM* param = SSL_get0_param(handle);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (literalError) X509_VERIFY_PARAM_set1_host(param, serverName.c_str(), 0);
  else X509_VERIFY_PARAM_set1_ip_asc(param, serverName.c_str());

  if (!co_await connectStream(beast::get_lowest_layer(stream), endpoints, clock, result))
    co_return result;

  beast::get_lowest_layer(stream).expires_after(clock.remaining());
  auto [handshakeError] = co_await stream.async_handshake(
      ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
  if (handshakeError) {
    recordFailure(result, HttpStep::Handshake, handshakeError, clock);
    long verify = SSL_get_verify_result(handle);
    if (verify != X509_V_OK) {
      result.tlsDetail = std::string("certificate verify failed: ") +
                         X509_verify_cert_error_string(verify);
    }
    ERR_clear_error();
    co_return result;
  }
  co_await exchangeOver(stream, req, clock, result);
  // A TLS close_notify is polite but the server may not answer it; bound it tightly.
  beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(200));
  co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
  co_return result;
}

}  // namespace guestpulse
