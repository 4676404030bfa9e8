#pragma once
// OpenSSL, which TLS connections and certificate parsing run on.
//
// On Linux the agent binary does not link OpenSSL: it loads libssl.so.3 (and with it
// libcrypto.so.3) the first time a probe needs TLS or reads a certificate. A VM whose
// probes never do (the default on a VM without the HTTPS metadata endpoint) never maps
// it, which keeps about 1.7 MB of OpenSSL's relocated data and symbol tables out of the
// agent's resident memory. Tests and other builds link OpenSSL directly; for them the
// library is always there.

#include <string>

namespace guestpulse::platform {

// Loads OpenSSL if not yet loaded. Returns "" when it is usable, otherwise why not, e.g.
// "OpenSSL 3 could not be loaded (libssl.so.3: cannot open shared object file: No such
// file or directory)". The answer is decided once and then stays the same.
const std::string& tlsLibraryProblem();

// The hint for an operator when tlsLibraryProblem() is not empty.
inline constexpr const char* kTlsLibraryFix =
    "install the OpenSSL 3 runtime (Debian/Ubuntu: apt-get install libssl3; "
    "RHEL/Fedora: dnf install openssl-libs) and restart guestpulse";

}  // namespace guestpulse::platform
