#pragma once
// TLS settings for HTTPS requests: which roots to trust and, for mutual TLS, which
// client certificate to present. Loading is a separate step from connecting so that a
// probe can say exactly which one failed (the CA file, the client key, the handshake).

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}

namespace guestpulse {

struct HttpResult;

struct TlsOptions {
  std::string caFile;          // PEM roots; empty = the system's default trust store
  std::string clientCertFile;  // PEM with the client certificate (may also hold the key)
  std::string clientKeyFile;   // PEM key; empty = read the key from clientCertFile
};

// Library: OpenSSL itself could not be loaded (platform/tls_library.hpp).
enum class TlsLoadStep { None, Library, CaFile, ClientCert, ClientKey, KeyMismatch };

struct TlsLoadError {
  TlsLoadStep step = TlsLoadStep::None;
  std::string message;  // "cannot load CA file /run/...: No such file or directory"
};

class TlsContextProvider {
 public:
  // Builds a client context (TLS 1.2+, peer verification on). On failure returns
  // nullptr and fills `error`.
  static std::unique_ptr<TlsContextProvider> create(const TlsOptions& options, TlsLoadError& error);
  ~TlsContextProvider();
  boost::asio::ssl::context& context() { return *context_; }

 private:
  TlsContextProvider();
  std::unique_ptr<boost::asio::ssl::context> context_;
};

// What went wrong in the TLS layer of a failed request, told apart the way curl's exit
// codes do (60: the peer's certificate or name, 56: the peer ended the session).
enum class TlsFailureKind {
  None,              // not a TLS failure: connect, timeout, plain HTTP errors
  HostnameMismatch,  // the server's certificate is valid but for another name (curl 60)
  PeerUntrusted,     // the server's certificate failed verification otherwise (curl 60)
  AlertReceived,     // the server ended the session with a TLS alert (curl 56)
  Protocol,          // any other TLS error (not TLS at all, no common version, ...)
};

struct TlsFailure {
  TlsFailureKind kind = TlsFailureKind::None;
  long verifyResult = 0;  // X509_V_ERR_* for HostnameMismatch / PeerUntrusted
  int alert = -1;         // TLS AlertDescription for AlertReceived
  std::string alertName;  // "certificate required"
  // One clause an operator can act on, e.g. "the server's certificate is for
  // metadata.wrong.example, not metadata.google.internal".
  std::string explanation;
};

// Classifies the TLS failure of a request made with HttpRequest::tls. I/O-free. Alerts are
// recognised in any step: with TLS 1.3 the client finishes its handshake before the
// server checks the client certificate, so "certificate required" arrives on the read.
TlsFailure describeTlsFailure(const HttpResult& result);

// The registered name of a TLS alert ("certificate required" for 116); "alert N" when
// unknown.
std::string tlsAlertName(int alert);

}  // namespace guestpulse
