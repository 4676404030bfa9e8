#pragma once
// TLS settings for HTTPS requests and why loading them failed, as plain values: the
// client (tls_client.hpp) loads them, the diagnosis reads the failure.

#include <string>

namespace guestpulse {

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

}  // namespace guestpulse
