#pragma once
// TLS settings for HTTPS requests: which roots to trust and, for mutual TLS, which
// client certificate to present. Loading is a separate step from connecting so that a
// probe can say exactly which one failed (the CA file, the client key, the handshake).

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/net/tls_settings.hpp"

namespace boost::asio::ssl {
class context;
}

namespace guestpulse {

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

// The registered name of a TLS alert ("certificate required" for 116); "alert N" when
// unknown.
std::string tlsAlertName(int alert);

}  // namespace guestpulse
