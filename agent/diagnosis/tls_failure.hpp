#pragma once
// What went wrong in the TLS layer of a failed request, told apart the way curl's exit
// codes do (60: the peer's certificate or name, 56: the peer ended the session).
// I/O-free: reads only what the TLS client recorded in the HttpResult.

#include <string>

#include "agent/net/http_result.hpp"

namespace guestpulse {

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
  // One clause an operator can act on, e.g. "the server's certificate does not match the
  // name asked for".
  std::string explanation;
};

// Classifies the TLS failure of a request made with HttpRequest::tls. Alerts are
// recognised in any step: with TLS 1.3 the client finishes its handshake before the
// server checks the client certificate, so "certificate required" arrives on the read.
TlsFailure describeTlsFailure(const HttpResult& result);

}  // namespace guestpulse
