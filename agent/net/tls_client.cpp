#include "agent/net/tls_client.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include "agent/certs/certificate.hpp"
#include "agent/net/http_exchange.hpp"
#include "platform/tls_library.hpp"

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
  if (const std::string& why = platform::tlsLibraryProblem(); !why.empty()) {
    error = {TlsLoadStep::Library, why};
    return nullptr;
  }
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
      // Taken once: reading the OpenSSL error also clears it.
      std::string reason = lastOpenSslError();
      error = {TlsLoadStep::CaFile, "cannot load CA file " + options.caFile + ": " +
                                        (reason.empty() ? ec.message() : reason)};
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
      error = {TlsLoadStep::ClientKey,
               "cannot load client key from " + keyFile + ": " + ec.message()};
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

namespace {

// What the verify callback saw of the server's certificate; shared with the callback,
// which the stream keeps.
struct PeerCertificate {
  bool seen = false;
  std::string names;  // "metadata.wrong.example" or "DNS:a, DNS:b" or the subject
};

std::string peerNames(const X509* cert) {
  certs::CertificateInfo info = certs::describeCertificate(cert);
  std::string names;
  for (const auto& dns : info.dnsNames) names += (names.empty() ? "" : ", ") + dns;
  for (const auto& ip : info.ipAddresses) names += (names.empty() ? "" : ", ") + ip;
  return names.empty() ? info.subject : names;
}

// The TLS alert carried by an OpenSSL error code, or -1.
int alertOf(const boost::system::error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return -1;
  int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256)
    return reason - SSL_AD_REASON_OFFSET;
  return -1;
}

void noteAlert(HttpResult& result) {
  int alert = alertOf(result.error);
  if (alert < 0) return;
  result.tlsAlert = alert;
  result.tlsAlertName = tlsAlertName(alert);
  result.tlsDetail =
      "the server sent TLS alert " + std::to_string(alert) + " '" + result.tlsAlertName + "'";
}

}  // namespace

std::string tlsAlertName(int alert) {
  // OpenSSL 3.0 has no text for the TLS 1.3 alerts; name the ones a server sends about
  // client certificates ourselves.
  switch (alert) {
    case 40:
      return "handshake failure";
    case 42:
      return "bad certificate";
    case 43:
      return "unsupported certificate";
    case 44:
      return "certificate revoked";
    case 45:
      return "certificate expired";
    case 46:
      return "certificate unknown";
    case 48:
      return "unknown CA";
    case 49:
      return "access denied";
    case 112:
      return "unrecognized name";
    case 116:
      return "certificate required";
    default:
      break;
  }
  const char* name = SSL_alert_desc_string_long(alert);
  if (name && std::string_view(name) != "unknown") return name;
  return "alert " + std::to_string(alert);
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
  if (literalError)
    X509_VERIFY_PARAM_set1_host(param, serverName.c_str(), 0);
  else
    X509_VERIFY_PARAM_set1_ip_asc(param, serverName.c_str());
  // Remember whom the server claimed to be, so a name mismatch can say so.
  auto peer = std::make_shared<PeerCertificate>();
  boost::system::error_code callbackError;
  stream.set_verify_callback(
      [peer](bool preverified, ssl::verify_context& ctx) {
        if (!preverified && !peer->seen) {
          peer->seen = true;
          peer->names = peerNames(X509_STORE_CTX_get0_cert(ctx.native_handle()));
        }
        return preverified;
      },
      callbackError);

  if (!co_await connectStream(beast::get_lowest_layer(stream), endpoints, clock, result))
    co_return result;

  beast::get_lowest_layer(stream).expires_after(clock.remaining());
  auto [handshakeError] = co_await stream.async_handshake(ssl::stream_base::client,
                                                          asio::as_tuple(asio::use_awaitable));
  if (handshakeError) {
    recordFailure(result, HttpStep::Handshake, handshakeError, clock);
    long verify = SSL_get_verify_result(handle);
    result.tlsVerifyResult = verify;
    if (verify != X509_V_OK) {
      result.tlsVerifyText = X509_verify_cert_error_string(verify);
      result.tlsNameMismatch =
          verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH;
      result.tlsDetail = "certificate verify failed: " + result.tlsVerifyText;
      if (result.tlsNameMismatch && peer->seen)
        result.tlsDetail += "; the certificate is for " + peer->names + ", not " + serverName;
    } else {
      noteAlert(result);
    }
    ERR_clear_error();
    co_return result;
  }
  co_await exchangeOver(stream, req, clock, result);
  if (!result.ok()) {
    // TLS 1.3: the server judges the client certificate after the client's handshake
    // is done; its verdict arrives as an alert on the first read.
    noteAlert(result);
    ERR_clear_error();
    co_return result;
  }
  // A TLS close_notify is polite but the server may not answer it; bound it tightly.
  beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(200));
  co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
  co_return result;
}

}  // namespace guestpulse
