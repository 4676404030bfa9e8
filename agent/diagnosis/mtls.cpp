#include "agent/diagnosis/mtls.hpp"

#include <filesystem>

#include "agent/diagnosis/metadata_call.hpp"
#include "agent/diagnosis/tls_failure.hpp"
#include "platform/tls_library.hpp"

namespace guestpulse {

namespace {

// Where the guest agent keeps the two files, for the hint: their directory when they
// share one ("/run/google-mds-mtls/"), otherwise both paths.
std::string credentialFiles(const MdsMtlsFacts& f) {
  std::filesystem::path ca(f.rootCa), client(f.clientCert);
  if (!f.rootCa.empty() && ca.parent_path() == client.parent_path() && !ca.parent_path().empty())
    return (ca.parent_path() / "").string();
  return f.rootCa + " and " + f.clientCert;
}

std::string agentHint(const MdsMtlsFacts& f, const platform::FixHints& h) {
  return "Google's guest agent writes " + credentialFiles(f) +
         " when mTLS to the metadata server is on: check it runs (" + h.guestAgentStatus +
         ") and its log (" + h.guestAgentLog + ")";
}

std::string stepName(HttpStep step) {
  switch (step) {
    case HttpStep::Handshake:
      return "TLS handshake";
    case HttpStep::Write:
    case HttpStep::Read:
      return "TLS session, after the handshake";
    default:
      return std::string(toString(step));
  }
}

void addClientDetails(ProbeResult& result, const MdsMtlsFacts& f) {
  result.details.emplace_back("endpoint", f.endpoint);
  result.details.emplace_back("server_name", f.serverName);
  if (f.files.client) {
    result.details.emplace_back("client_certificate", f.files.client->name());
    result.details.emplace_back("client_not_after", formatRfc3339(f.files.client->notAfter));
  }
}

ProbeResult withCurl(ProbeResult result, int curlError) {
  result.details.emplace_back("curl_error", std::to_string(curlError));
  return result;
}

// The TLS layer failed: name the step, the target and what the server said or showed.
std::optional<ProbeResult> diagnoseTls(const MdsMtlsFacts& f, const HttpResult& last,
                                       const platform::FixHints& h) {
  TlsFailure tls = describeTlsFailure(last);
  if (tls.kind == TlsFailureKind::None) return std::nullopt;
  const std::string where =
      "mTLS to " + f.endpoint + " as " + f.serverName + ": " + stepName(last.failedStep) + ": ";
  ProbeResult result;
  switch (tls.kind) {
    case TlsFailureKind::HostnameMismatch:
      result = withCurl(ProbeResult::failed(
                            "mtls.hostname_mismatch",
                            where + (last.tlsDetail.empty() ? tls.explanation : last.tlsDetail),
                            "the server that answered on " + f.endpoint +
                                " presents a certificate that is not for " + f.serverName +
                                " (curl error 60: no subject name matches): check "
                                "metadata.hostname, GCE_METADATA_HOST and that nothing on the path "
                                "(proxy, NAT rule) intercepts HTTPS to the metadata server"),
                        60);
      result.details.emplace_back("verify_result", std::to_string(tls.verifyResult));
      return result;
    case TlsFailureKind::PeerUntrusted:
      result = withCurl(
          ProbeResult::failed(
              "mtls.handshake_failed", where + tls.explanation,
              "the metadata server's certificate does not verify against root.crt (curl error "
              "60): the CA file is stale or for another server, or something intercepts the "
              "connection. Restart " +
                  h.guestAgent +
                  " so it fetches the CA again, and check the "
                  "VM's clock"),
          60);
      result.details.emplace_back("verify_result", std::to_string(tls.verifyResult));
      return result;
    case TlsFailureKind::AlertReceived: {
      std::string fix;
      switch (tls.alert) {
        case 116:
        case 40:
          fix =
              "the server requires a client certificate and did not accept one (curl error "
              "56): check probes.mds_mtls.client_cert points at the file the guest agent "
              "writes (certificate and key in one PEM); " +
              agentHint(f, h);
          break;
        case 48:
          fix =
              "the client certificate was not issued for this VM's metadata server (curl "
              "error 56): restart " +
              h.guestAgent + " so it fetches a new client certificate";
          break;
        default:
          fix = "the metadata server rejected the TLS session (curl error 56): restart " +
                h.guestAgent + " so it renews the client certificate; " + agentHint(f, h);
      }
      result =
          withCurl(ProbeResult::failed("mtls.handshake_failed", where + tls.explanation, fix), 56);
      result.details.emplace_back("tls_alert", std::to_string(tls.alert));
      return result;
    }
    case TlsFailureKind::Protocol:
      return withCurl(
          ProbeResult::failed("mtls.handshake_failed", where + tls.explanation,
                              "nothing completed a TLS handshake on " + f.endpoint +
                                  ": check probes.mds_mtls.port and that the metadata server's "
                                  "HTTPS endpoint is reachable (curl error 35)"),
          35);
    case TlsFailureKind::None:
      break;
  }
  return std::nullopt;
}

}  // namespace

ProbeResult diagnoseMdsMtls(const MdsMtlsFacts& f, const platform::FixHints& h) {
  using certs::MtlsFileProblem;
  if (!f.setUp) {
    ProbeResult notSetUp =
        ProbeResult::ok("mTLS to the metadata server is not set up on this VM (no " + f.rootCa +
                        "); nothing checked");
    notSetUp.details.emplace_back("set_up", "false");
    return notSetUp;
  }
  if (f.filesTimedOut)
    return ProbeResult::failed(
        "mtls.ca_missing",
        "reading " + f.rootCa + " and " + f.clientCert + " did not finish within " +
            formatDuration(f.fileDeadline),
        "the files are on a stuck file system; check the mount of " + f.rootCa);
  ProbeResult result;
  const auto& files = f.files;
  if (files.problem == MtlsFileProblem::CaMissing) {
    result =
        withCurl(ProbeResult::failed("mtls.ca_missing", files.message,
                                     "the CA that verifies the metadata server's certificate "
                                     "is missing or unusable (curl error 77: cannot set verify "
                                     "locations). " +
                                         agentHint(f, h) + "; or correct probes.mds_mtls.root_ca"),
                 77);
  } else if (files.problem == MtlsFileProblem::ClientMissing) {
    result = withCurl(
        ProbeResult::failed("mtls.client_cert_missing", files.message,
                            "the client certificate and key are missing or unusable "
                            "(curl error 58: unable to use client certificate). " +
                                agentHint(f, h) + "; or correct probes.mds_mtls.client_cert"),
        58);
  } else if (f.load && f.load->step == TlsLoadStep::Library) {
    result = ProbeResult::failed("agent.tls_unavailable",
                                 "cannot check mTLS to " + f.endpoint + ": " + f.load->message,
                                 platform::kTlsLibraryFix);
  } else if (f.load) {
    bool ca = f.load->step == TlsLoadStep::CaFile;
    result = withCurl(ProbeResult::failed(ca ? "mtls.ca_missing" : "mtls.client_cert_missing",
                                          f.load->message, agentHint(f, h)),
                      ca ? 77 : 58);
  } else if (!f.call || f.call->attempts.empty()) {
    result = ProbeResult::failed("mtls.handshake_failed",
                                 "mTLS to " + f.endpoint + ": no request was made",
                                 "report this with the agent's log");
  } else {
    const HttpResult& last = f.call->last();
    std::optional<ProbeResult> tls = diagnoseTls(f, last, h);
    if (files.problem == MtlsFileProblem::ClientExpired ||
        files.problem == MtlsFileProblem::ClientNotYetValid) {
      // Said before what the server did with it: the date is the cause, the alert the effect.
      bool expired = files.problem == MtlsFileProblem::ClientExpired;
      std::string outcome = tls         ? tls->message
                            : last.ok() ? "the server still accepted it"
                                        : last.describe(f.endpoint);
      result = ProbeResult::failed(
          expired ? "mtls.cert_expired" : "mtls.cert_not_yet_valid", files.message + "; " + outcome,
          expired ? "the guest agent renews the client certificate; it has stopped: restart " +
                        h.guestAgent + " and check its log (" + h.guestAgentLog + ")"
                  : "the VM's clock is wrong: check time synchronisation (" + h.checkClock + ")");
    } else if (tls) {
      result = std::move(*tls);
    } else {
      result = diagnoseMetadataCall(*f.call, {f.endpoint, "GET instance/id over mTLS"}, h);
      if (result.state == State::Ok && files.validity.validity == certs::Validity::Expiring) {
        const auto& cert = *files.client;
        result = ProbeResult::degraded(
            "mtls.cert_expiring",
            "client certificate " + cert.name() + " expires at " + formatRfc3339(cert.notAfter) +
                ", in " + formatDuration(files.validity.remaining) + " (less than " +
                formatDuration(files.validity.warnWithin) + " left); mTLS works for now",
            "the guest agent renews the client certificate well before it expires; if it does "
            "not, restart " +
                h.guestAgent + " and check its log");
      } else if (result.state == State::Ok && files.client) {
        result.message = "GET instance/id over mTLS to " + f.endpoint + " as " + f.serverName +
                         " answered in " + formatLatency(last.elapsed) +
                         "; client certificate valid until " +
                         formatRfc3339(files.client->notAfter);
      }
    }
  }
  addClientDetails(result, f);
  return result;
}

}  // namespace guestpulse
