// diagnoseMdsMtls, table-driven: every mTLS cause from hand-built facts (files as found,
// the TLS context load, and what the HTTPS call did).

#include <boost/asio/error.hpp>
#include <catch2/catch.hpp>
#include <functional>

#include "agent/diagnosis/mtls.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
using certs::MtlsFileProblem;

namespace {

MdsMtlsFacts base() {
  MdsMtlsFacts f;
  f.endpoint = "169.254.169.254:443";
  f.serverName = "metadata.google.internal";
  f.rootCa = "/run/google-mds-mtls/root.crt";
  f.clientCert = "/run/google-mds-mtls/client.key";
  certs::CertificateInfo client;
  client.subject = "CN=vm-1";
  client.dnsNames = {"vm-1.internal"};
  client.notBefore = WallTime(std::chrono::hours(24 * 20000));
  client.notAfter = client.notBefore + std::chrono::hours(24 * 30);
  f.files.client = client;
  return f;
}

MetadataResult call(HttpResult http) {
  MetadataResult r;
  r.attempts.push_back({std::move(http), 0ms});
  r.flavorOk = r.attempts.back().http.ok() &&
               r.attempts.back().http.response->header("Metadata-Flavor") == "Google";
  return r;
}

HttpResult answered(int status) {
  HttpResult http;
  http.response = HttpResponse{status, "", {{"Metadata-Flavor", "Google"}}, "1"};
  http.elapsed = 4ms;
  return http;
}

HttpResult handshakeFailed(long verify, bool nameMismatch, std::string verifyText) {
  HttpResult http;
  http.failedStep = HttpStep::Handshake;
  http.error = boost::asio::error::connection_reset;
  http.tlsVerifyResult = verify;
  http.tlsNameMismatch = nameMismatch;
  http.tlsVerifyText = verifyText;
  http.tlsDetail = "certificate verify failed: " + verifyText;
  return http;
}

HttpResult alerted(int alert, std::string name, HttpStep step) {
  HttpResult http;
  http.failedStep = step;
  http.error = boost::asio::error::connection_reset;
  http.tlsAlert = alert;
  http.tlsAlertName = std::move(name);
  return http;
}

struct Row {
  const char* name;
  std::function<MdsMtlsFacts()> facts;
  State state;
  const char* cause;
  const char* inMessage;
  const char* inFix;
};

}  // namespace

TEST_CASE("diagnoseMdsMtls: every cause from its facts", "[diagnosis][mtls][linux-words]") {
  const std::vector<Row> rows = {
      {"not set up (auto, no CA file)",
       [] {
         auto f = base();
         f.setUp = false;
         return f;
       },
       State::Ok, "", "not set up", ""},
      {"healthy",
       [] {
         auto f = base();
         f.call = call(answered(200));
         return f;
       },
       State::Ok, "", "answered in", ""},
      {"files on a stuck file system",
       [] {
         auto f = base();
         f.filesTimedOut = true;
         f.fileDeadline = 5s;
         return f;
       },
       State::Failed, "mtls.ca_missing", "did not finish within 5s", "stuck file system"},
      {"CA file missing",
       [] {
         auto f = base();
         f.files.problem = MtlsFileProblem::CaMissing;
         f.files.message = "open /run/google-mds-mtls/root.crt: No such file or directory";
         return f;
       },
       State::Failed, "mtls.ca_missing", "root.crt", "curl error 77"},
      {"client certificate missing",
       [] {
         auto f = base();
         f.files.problem = MtlsFileProblem::ClientMissing;
         f.files.message = "no private key in /run/google-mds-mtls/client.key";
         return f;
       },
       State::Failed, "mtls.client_cert_missing", "client.key", "curl error 58"},
      {"OpenSSL cannot be loaded",
       [] {
         auto f = base();
         f.load = TlsLoadError{TlsLoadStep::Library, "libssl.so.3: cannot open shared object"};
         return f;
       },
       State::Failed, "agent.tls_unavailable", "libssl.so.3", "libssl3"},
      {"key does not match when the context is built",
       [] {
         auto f = base();
         f.load = TlsLoadError{TlsLoadStep::KeyMismatch, "client key does not match"};
         return f;
       },
       State::Failed, "mtls.client_cert_missing", "does not match", "google-guest-agent"},
      {"server certificate for another name",
       [] {
         auto f = base();
         f.call = call(handshakeFailed(62, true, "hostname mismatch"));
         return f;
       },
       State::Failed, "mtls.hostname_mismatch", "TLS handshake", "curl error 60"},
      {"server certificate not trusted",
       [] {
         auto f = base();
         f.call = call(handshakeFailed(20, false, "unable to get local issuer certificate"));
         return f;
       },
       State::Failed, "mtls.handshake_failed", "unable to get local issuer certificate",
       "Restart google-guest-agent so it fetches the CA again"},
      {"certificate required (TLS 1.3: on the read)",
       [] {
         auto f = base();
         f.call = call(alerted(116, "certificate required", HttpStep::Read));
         return f;
       },
       State::Failed, "mtls.handshake_failed", "certificate required", "curl error 56"},
      {"unknown CA for the client certificate",
       [] {
         auto f = base();
         f.call = call(alerted(48, "unknown CA", HttpStep::Handshake));
         return f;
       },
       State::Failed, "mtls.handshake_failed", "unknown CA", "restart google-guest-agent"},
      {"not TLS at all",
       [] {
         auto f = base();
         HttpResult http;
         http.failedStep = HttpStep::Handshake;
         http.error = boost::asio::error::eof;
         f.call = call(http);
         return f;
       },
       State::Failed, "mtls.handshake_failed", "the TLS handshake failed", "curl error 35"},
      {"client certificate expired",
       [] {
         auto f = base();
         f.files.problem = MtlsFileProblem::ClientExpired;
         f.files.message = "client certificate vm-1.internal expired 2h ago";
         f.call = call(alerted(45, "certificate expired", HttpStep::Read));
         return f;
       },
       State::Failed, "mtls.cert_expired", "certificate expired",
       "journalctl -u google-guest-agent"},
      {"client certificate not valid yet",
       [] {
         auto f = base();
         f.files.problem = MtlsFileProblem::ClientNotYetValid;
         f.files.message = "client certificate vm-1.internal is valid only from tomorrow";
         f.call = call(answered(200));
         return f;
       },
       State::Failed, "mtls.cert_not_yet_valid", "the server still accepted it", "timedatectl"},
      {"client certificate expiring",
       [] {
         auto f = base();
         f.files.validity.validity = certs::Validity::Expiring;
         f.files.validity.remaining = 48h;
         f.files.validity.warnWithin = 7 * 24h;
         f.call = call(answered(200));
         return f;
       },
       State::Degraded, "mtls.cert_expiring", "mTLS works for now", "restart google-guest-agent"},
      {"a metadata-server answer behind mTLS",
       [] {
         auto f = base();
         f.call = call(answered(503));
         return f;
       },
       State::Failed, "mds.unavailable", "over mTLS", "maintenance"},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      ProbeResult result = diagnoseMdsMtls(row.facts());
      INFO(result.cause << ": " << result.message << " | fix: " << result.fix);
      CHECK(result.state == row.state);
      CHECK(result.cause == row.cause);
      CHECK_THAT(result.message, Catch::Contains(row.inMessage));
      CHECK_THAT(result.fix, Catch::Contains(row.inFix));
    }
  }
}

TEST_CASE("diagnoseMdsMtls: the guest agent hint names where its files are",
          "[diagnosis][mtls][linux-words]") {
  auto f = base();
  f.files.problem = MtlsFileProblem::CaMissing;
  f.files.message = "missing";
  CHECK_THAT(diagnoseMdsMtls(f).fix, Catch::Contains("writes /run/google-mds-mtls/ when"));
  f.rootCa = "/a/root.crt";
  f.clientCert = "/b/client.key";
  CHECK_THAT(diagnoseMdsMtls(f).fix, Catch::Contains("writes /a/root.crt and /b/client.key"));
}
