#include "agent/probes/mds_mtls_probe.hpp"

#include <filesystem>
#include <memory>

#include "agent/diagnosis/mtls.hpp"
#include "agent/diagnosis/tls_failure.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/metadata/retrying_call.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/tls_client.hpp"
#include "agent/probes/metadata_probe.hpp"
#include "platform/tls_library.hpp"

namespace guestpulse {

namespace asio = boost::asio;

namespace {

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

}  // namespace

MdsMtlsProbe::MdsMtlsProbe(HttpClient& http, BlockingPool& pool, MdsMtlsProbeOptions options,
                           UnitRandom random, std::function<WallTime()> wallClock)
    : http_(http),
      pool_(pool),
      options_(std::move(options)),
      random_(random ? std::move(random) : makeUnitRandom()),
      wallClock_(wallClock ? std::move(wallClock) : [] { return WallClock::now(); }) {}

Duration MdsMtlsProbe::inProcessDeadline() const {
  return options_.fileDeadline + worstCaseCallTime(options_.retry, options_.timeout) +
         std::chrono::seconds(2);
}

Duration MdsMtlsProbe::deadline() const {
  // In a child: its own bound, then SIGKILL after the grace, reaping, and starting it.
  if (options_.child.executable.empty()) return inProcessDeadline();
  return options_.fileDeadline + inProcessDeadline() + options_.child.killGrace +
         std::chrono::seconds(4);
}

asio::awaitable<ProbeResult> MdsMtlsProbe::runInChild(ProbeRunContext context) {
  MdsMtlsFacts facts;
  facts.endpoint = MetadataEndpoint{true, options_.host, options_.port}.display();
  facts.serverName = options_.serverName;
  facts.rootCa = options_.rootCa;
  facts.clientCert = options_.clientCert;
  if (options_.enabled == Enablement::Auto) {
    // Whether mTLS is set up at all is one stat(), worth no process.
    const std::string rootCa = options_.rootCa;
    std::function<bool()> exists = [rootCa] {
      std::error_code ec;
      return std::filesystem::exists(rootCa, ec);
    };
    std::optional<bool> setUp = co_await pool_.run<bool>(exists, options_.fileDeadline);
    if (!setUp) {
      facts.filesTimedOut = true;
      facts.fileDeadline = options_.fileDeadline;
    } else {
      facts.setUp = *setUp;
    }
    if (!setUp || !*setUp) {
      ProbeResult early = diagnoseMdsMtls(facts);
      co_return early;
    }
  }
  ProbeResult result =
      co_await runProbeInChild(pool_, options_.child, name_, context, inProcessDeadline());
  co_return result;
}

asio::awaitable<MetadataResult> MdsMtlsProbe::call(TlsContextProvider& tls, int attempts) {
  RetryingCall call;
  call.request.host = options_.host;
  call.request.port = options_.port;
  call.request.target = std::string(kGceMetadataPrefix) + "instance/id";
  call.request.tls = true;
  call.request.tlsServerName = options_.serverName;
  call.request.headers = {{"Metadata-Flavor", "Google"}};
  call.timeout = options_.timeout;
  call.retry = options_.retry;
  call.retry.attempts = attempts;
  call.signature = {"Metadata-Flavor", "Google"};
  // A certificate problem does not go away in a second.
  call.isFinal = [](const HttpResult& http) {
    return describeTlsFailure(http).kind != TlsFailureKind::None;
  };
  call.tls = &tls;
  MetadataResult result = co_await callWithRetries(http_, std::move(call), random_);
  co_return result;
}

asio::awaitable<ProbeResult> MdsMtlsProbe::run(ProbeRunContext context) {
  if (!options_.child.executable.empty()) {
    ProbeResult isolated = co_await runInChild(context);
    co_return isolated;
  }
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
  facts.rootCa = options_.rootCa;
  facts.clientCert = options_.clientCert;
  if (!prepared) {
    facts.filesTimedOut = true;
    facts.fileDeadline = options_.fileDeadline;
    ProbeResult stuck = diagnoseMdsMtls(facts);
    co_return stuck;
  }
  if (onlyIfSetUp && !prepared->caExists) {
    facts.setUp = false;
    ProbeResult notSetUp = diagnoseMdsMtls(facts);
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
