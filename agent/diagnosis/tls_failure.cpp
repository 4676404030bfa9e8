#include "agent/diagnosis/tls_failure.hpp"

namespace guestpulse {

namespace {

std::string alertExplanation(int alert, const std::string& name) {
  std::string said =
      "the server ended the TLS session with alert '" + name + "' (" + std::to_string(alert) + ")";
  switch (alert) {
    case 116:
      return said + ": it requires a client certificate and got none it accepts";
    case 40:
      return said + ": with mTLS this usually means no client certificate was sent";
    case 48:
      return said + ": it does not trust the issuer of the client certificate";
    case 45:
      return said + ": the client certificate has expired";
    case 42:
    case 43:
    case 46:
      return said + ": it rejected the client certificate";
    default:
      return said;
  }
}

}  // namespace

TlsFailure describeTlsFailure(const HttpResult& result) {
  TlsFailure failure;
  if (result.ok() || result.timedOut) return failure;
  if (result.tlsAlert >= 0) {
    failure.kind = TlsFailureKind::AlertReceived;
    failure.alert = result.tlsAlert;
    failure.alertName = result.tlsAlertName;
    failure.explanation = alertExplanation(result.tlsAlert, result.tlsAlertName);
    return failure;
  }
  if (result.failedStep != HttpStep::Handshake) return failure;
  if (result.tlsNameMismatch) {
    failure.kind = TlsFailureKind::HostnameMismatch;
    failure.verifyResult = result.tlsVerifyResult;
    failure.explanation = "the server's certificate does not match the name asked for";
    return failure;
  }
  if (result.tlsVerifyResult != 0) {
    failure.kind = TlsFailureKind::PeerUntrusted;
    failure.verifyResult = result.tlsVerifyResult;
    failure.explanation = "the server's certificate failed verification: " + result.tlsVerifyText;
    return failure;
  }
  failure.kind = TlsFailureKind::Protocol;
  failure.explanation = "the TLS handshake failed: " + result.error.message();
  return failure;
}

}  // namespace guestpulse
