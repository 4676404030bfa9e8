#include "agent/probes/mds_mtls_probe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <memory>

#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/metadata_diagnosis.hpp"
#include "agent/probes/metadata_probe.hpp"
#include "platform/tls_library.hpp"

namespace guestpulse {

namespace asio = boost::asio;

namespace {

const char* kGuestAgentHint =
    "Google's guest agent writes /run/google-mds-mtls/ when mTLS to the metadata server is "
    "on: check it runs (systemctl status google-guest-agent) and its log (journalctl -u "
    "google-guest-agent)";

// What the pool job hands back: the files as found and, when they are usable, the TLS
// context built from them (shared: pool results are copied).
struct Prepared {
  bool caExists = false;
  certs::MtlsCredentialsFinding finding;
  std::optional<TlsLoadError> load;
  std::shared_ptr<TlsContextProvider> tls;
};

Prepared prepare(const MdsMtlsProbeOptions& options, bool onlyIfSetUp, WallTime now) {
  Prepared out;
  std::error_code ec;
  out.caExists = std::filesystem::exists(options.rootCa, ec);
  if (onlyIfSetUp && !out.caExists) return out;
  if (const std::string& why = platform::tlsLibraryProblem(); !why.empty()) {
    out.load = TlsLoadError{TlsLoadStep::Library, why};
    return out;
  }
  certs::MtlsCredentialFiles files = certs::readMtlsCredentials(options.rootCa, options.clientCert);
  out.finding = certs::inspectMtlsCredentials(files, now);
  using certs::MtlsFileProblem;
  if (out.finding.problem == MtlsFileProblem::CaMissing ||
      out.finding.problem == MtlsFileProblem::ClientMissing)
    return out;
  TlsLoadError error;
  std::unique_ptr<TlsContextProvider> tls =
      TlsContextProvider::create({options.rootCa, options.clientCert, options.clientCert}, error);
  if (!tls)
    out.load = error;
  else
    out.tls = std::move(tls);
  return out;
}

bool isRetryableStatus(int status) { return status >= 500 || status == 429 || status == 408; }

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
std::optional<ProbeResult> diagnoseTls(const MdsMtlsFacts& f, const HttpResult& last) {
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
              "connection. Restart google-guest-agent so it fetches the CA again, and check "
              "the VM's clock"),
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
              "writes (client.key, certificate and key in one PEM); " +
              std::string(kGuestAgentHint);
          break;
        case 48:
          fix =
              "the client certificate was not issued for this VM's metadata server (curl "
              "error 56): restart google-guest-agent so it fetches a new client.key";
          break;
        default:
          fix =
              "the metadata server rejected the TLS session (curl error 56): restart "
              "google-guest-agent so it renews client.key; " +
              std::string(kGuestAgentHint);
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

ProbeResult diagnoseMdsMtls(const MdsMtlsFacts& f) {
  using certs::MtlsFileProblem;
  ProbeResult result;
  const auto& files = f.files;
  if (files.problem == MtlsFileProblem::CaMissing) {
    result =
        withCurl(ProbeResult::failed("mtls.ca_missing", files.message,
                                     "the CA that verifies the metadata server's certificate "
                                     "is missing or unusable (curl error 77: cannot set verify "
                                     "locations). " +
                                         std::string(kGuestAgentHint) +
                                         "; or correct probes.mds_mtls.root_ca"),
                 77);
  } else if (files.problem == MtlsFileProblem::ClientMissing) {
    result = withCurl(ProbeResult::failed("mtls.client_cert_missing", files.message,
                                          "the client certificate and key are missing or unusable "
                                          "(curl error 58: unable to use client certificate). " +
                                              std::string(kGuestAgentHint) +
                                              "; or correct probes.mds_mtls.client_cert"),
                      58);
  } else if (f.load && f.load->step == TlsLoadStep::Library) {
    result = ProbeResult::failed("agent.tls_unavailable",
                                 "cannot check mTLS to " + f.endpoint + ": " + f.load->message,
                                 platform::kTlsLibraryFix);
  } else if (f.load) {
    bool ca = f.load->step == TlsLoadStep::CaFile;
    result = withCurl(ProbeResult::failed(ca ? "mtls.ca_missing" : "mtls.client_cert_missing",
                                          f.load->message, kGuestAgentHint),
                      ca ? 77 : 58);
  } else if (!f.call || f.call->attempts.empty()) {
    result = ProbeResult::failed("mtls.handshake_failed",
                                 "mTLS to " + f.endpoint + ": no request was made",
                                 "report this with the agent's log");
  } else {
    const HttpResult& last = f.call->last();
    std::optional<ProbeResult> tls = diagnoseTls(f, last);
    if (files.problem == MtlsFileProblem::ClientExpired ||
        files.problem == MtlsFileProblem::ClientNotYetValid) {
      // Said before what the server did with it: the date is the cause, the alert the effect.
      bool expired = files.problem == MtlsFileProblem::ClientExpired;
      std::string outcome = tls         ? tls->message
                            : last.ok() ? "the server still accepted it"
                                        : last.describe(f.endpoint);
      result = ProbeResult::failed(
          expired ? "mtls.cert_expired" : "mtls.cert_not_yet_valid", files.message + "; " + outcome,
          expired ? "the guest agent renews the client certificate; it has stopped: restart "
                    "google-guest-agent and check its log (journalctl -u google-guest-agent)"
                  : "the VM's clock is wrong: check time synchronisation (timedatectl; chronyc "
                    "tracking)");
    } else if (tls) {
      result = std::move(*tls);
    } else {
      result = diagnoseMetadataCall(*f.call, {f.endpoint, "GET instance/id over mTLS"});
      if (result.state == State::Ok && files.validity.validity == certs::Validity::Expiring) {
        const auto& cert = *files.client;
        result = ProbeResult::degraded(
            "mtls.cert_expiring",
            "client certificate " + cert.name() + " expires at " + formatRfc3339(cert.notAfter) +
                ", in " + formatDuration(files.validity.remaining) + " (less than " +
                formatDuration(files.validity.warnWithin) + " left); mTLS works for now",
            "the guest agent renews the client certificate well before it expires; if it does "
            "not, restart google-guest-agent and check its log");
      } else if (result.state == State::Ok && files.client) {
        result.message = "GET instance/id over mTLS to " + f.endpoint + " as " + f.serverName +
                         " answered in " + formatDuration(last.elapsed) +
                         "; client certificate valid until " +
                         formatRfc3339(files.client->notAfter);
      }
    }
  }
  addClientDetails(result, f);
  return result;
}

MdsMtlsProbe::MdsMtlsProbe(HttpClient& http, BlockingPool& pool, MdsMtlsProbeOptions options,
                           UnitRandom random, std::function<WallTime()> wallClock)
    : http_(http),
      pool_(pool),
      options_(std::move(options)),
      random_(random ? std::move(random) : makeUnitRandom()),
      wallClock_(wallClock ? std::move(wallClock) : [] { return WallClock::now(); }) {}

Duration MdsMtlsProbe::deadline() const {
  return options_.fileDeadline + worstCaseCallTime(options_.retry, options_.timeout) +
         std::chrono::seconds(2);
}

asio::awaitable<MetadataResult> MdsMtlsProbe::call(TlsContextProvider& tls, int attempts) {
  RetrySettings settings = options_.retry;
  settings.attempts = attempts;
  RetryPolicy policy(settings, random_);
  MetadataResult result;
  result.target = std::string(kGceMetadataPrefix) + "instance/id";
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Duration waited{0};
  for (;;) {
    HttpRequest request;
    request.host = options_.host;
    request.port = options_.port;
    request.target = result.target;
    request.tls = true;
    request.tlsServerName = options_.serverName;
    request.headers = {{"Metadata-Flavor", "Google"}};
    HttpResult http = co_await http_.request(std::move(request), options_.timeout, &tls);
    const bool answered = http.ok();
    const int status = answered ? http.response->status : 0;
    const bool tlsFailure = describeTlsFailure(http).kind != TlsFailureKind::None;
    result.flavorOk = answered && http.response->header("Metadata-Flavor") == "Google";
    result.attempts.push_back({std::move(http), waited});
    if (answered && (status < 300 || !result.flavorOk || !isRetryableStatus(status))) break;
    if (tlsFailure) break;  // a certificate problem does not go away in a second
    std::optional<Duration> delay =
        policy.onFailure(answered ? AttemptOutcome::status(status) : AttemptOutcome::transport());
    if (!delay) break;
    timer.expires_after(*delay);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    waited = *delay;
  }
  co_return result;
}

asio::awaitable<ProbeResult> MdsMtlsProbe::run(ProbeRunContext context) {
  // Named callables and results only: GCC 12 destroys temporaries in co_await twice.
  const bool onlyIfSetUp = options_.enabled == Enablement::Auto;
  const MdsMtlsProbeOptions options = options_;
  const WallTime now = wallClock_();
  std::function<Prepared()> job = [options, onlyIfSetUp, now] {
    return prepare(options, onlyIfSetUp, now);
  };
  std::optional<Prepared> prepared = co_await pool_.run<Prepared>(job, options_.fileDeadline);

  MdsMtlsFacts facts;
  facts.endpoint = MetadataEndpoint{true, options_.host, options_.port}.display();
  facts.serverName = options_.serverName;
  if (!prepared) {
    ProbeResult stuck = ProbeResult::failed(
        "mtls.ca_missing",
        "reading " + options_.rootCa + " and " + options_.clientCert + " did not finish within " +
            formatDuration(options_.fileDeadline),
        "the files are on a stuck file system; check the mount of " + options_.rootCa);
    co_return stuck;
  }
  if (onlyIfSetUp && !prepared->caExists) {
    ProbeResult notSetUp =
        ProbeResult::ok("mTLS to the metadata server is not set up on this VM (no " +
                        options_.rootCa + "); nothing checked");
    notSetUp.details.emplace_back("set_up", "false");
    co_return notSetUp;
  }
  facts.files = prepared->finding;
  facts.load = prepared->load;
  if (prepared->tls) {
    std::shared_ptr<TlsContextProvider> tls = prepared->tls;
    MetadataResult result =
        co_await call(*tls, context.alreadyFailing ? 1 : options_.retry.attempts);
    facts.call = std::move(result);
  }
  ProbeResult result = diagnoseMdsMtls(facts);
  co_return result;
}

}  // namespace guestpulse
