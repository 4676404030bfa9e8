#pragma once
// TLS settings for HTTPS requests: which roots to trust and, for mutual TLS, which
// client certificate to present. Loading is a separate step from connecting so that a
// probe can say exactly which one failed (the CA file, the client key, the handshake).

#include <memory>
#include <optional>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace guestpulse {

struct TlsOptions {
  std::string caFile;          // PEM roots; empty = the system's default trust store
  std::string clientCertFile;  // PEM with the client certificate (may also hold the key)
  std::string clientKeyFile;   // PEM key; empty = read the key from clientCertFile
};

enum class TlsLoadStep { None, CaFile, ClientCert, ClientKey, KeyMismatch };

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

}  // namespace guestpulse
