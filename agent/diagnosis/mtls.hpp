#pragma once
// The diagnosis of mTLS to the metadata server (the mds_mtls probe), I/O-free: from the
// credential files as found, whether a TLS context could be built from them, and what
// the HTTPS call did, to one cause:
//   mtls.ca_missing          CA file missing, unreadable or not PEM       (curl error 77)
//   mtls.client_cert_missing client certificate/key missing, damaged or
//                            not matching                                 (curl error 58)
//   mtls.hostname_mismatch   the server's certificate is for another name (curl error 60)
//   mtls.handshake_failed    the server's certificate is not trusted, or
//                            the server refused the session with an alert
//                            ("certificate required" and friends)         (curl 60 / 56)
//   mtls.cert_expired        the client certificate has expired
//   mtls.cert_not_yet_valid  the client certificate starts in the future (clock)
//   mtls.cert_expiring       DEGRADED: everything works, the client certificate expires
//                            within 20 % of its lifetime (at most 7 days before)
//   agent.tls_unavailable    OpenSSL itself could not be loaded
// and otherwise the metadata call causes (net.*, mds.*, proxy.intercepted). Not set up
// (auto mode, no CA file) is OK with nothing checked.

#include <optional>
#include <string>

#include "agent/certs/mtls_credentials.hpp"
#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_result.hpp"
#include "agent/net/tls_settings.hpp"
#include "platform/fix_hints.hpp"

namespace guestpulse {

struct MdsMtlsFacts {
  std::string endpoint;    // "169.254.169.254:443"
  std::string serverName;  // "metadata.google.internal"
  std::string rootCa;      // the files the guest agent writes (configured paths)
  std::string clientCert;
  bool setUp = true;           // auto mode: the CA file exists, so the feature is on
  bool filesTimedOut = false;  // reading the files did not finish within fileDeadline
  Duration fileDeadline{0};
  certs::MtlsCredentialsFinding files;
  std::optional<TlsLoadError> load;    // set when the TLS context could not be built
  std::optional<MetadataResult> call;  // set when a request was made
};

ProbeResult diagnoseMdsMtls(const MdsMtlsFacts& facts,
                            const platform::FixHints& hints = platform::fixHints());

}  // namespace guestpulse
