#include "agent/probes/workload_certs_probe.hpp"

#include "agent/diagnosis/workload_certs.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/probes/metadata_probe.hpp"
#include "platform/tls_library.hpp"

namespace guestpulse {

namespace asio = boost::asio;

WorkloadCertsProbe::WorkloadCertsProbe(MetadataClient& client, BlockingPool& pool,
                                       WorkloadCertsProbeOptions options,
                                       std::function<WallTime()> wallClock)
    : client_(client),
      pool_(pool),
      options_(std::move(options)),
      wallClock_(wallClock ? std::move(wallClock) : [] { return WallClock::now(); }) {}

Duration WorkloadCertsProbe::deadline() const {
  // The attribute, config-status, then the files.
  return 2 * worstCaseCallTime(client_.retrySettings(), client_.timeout()) + options_.fileDeadline +
         std::chrono::seconds(2);
}

asio::awaitable<ProbeResult> WorkloadCertsProbe::run(ProbeRunContext context) {
  const int attempts = context.alreadyFailing ? 1 : 0;
  WorkloadCertsFacts facts;
  facts.endpoint = client_.endpoint().display();
  facts.askAttribute = options_.enabled == Enablement::Auto;
  facts.credentialsDir = options_.credentialsDir;
  facts.fileDeadline = options_.fileDeadline;
  for (;;) {
    WorkloadCertsAssessment assessment = assessWorkloadCerts(facts);
    switch (assessment.next) {
      case WorkloadStep::Attribute: {
        // Named, not a temporary in the co_await expression (GCC 12, see blocking_pool.hpp).
        const std::string path = kWorkloadCertAttribute;
        MetadataResult attribute = co_await client_.get(path, attempts);
        facts.attribute = std::move(attribute);
        break;
      }
      case WorkloadStep::ConfigStatus: {
        const std::string path = kWorkloadConfigStatus;
        MetadataResult status = co_await client_.get(path, attempts);
        facts.configStatus = std::move(status);
        break;
      }
      case WorkloadStep::Credentials: {
        const std::string dir = options_.credentialsDir;
        const WallTime now = wallClock_();
        const certs::WorkloadCredentialsPolicy policy = options_.policy;
        std::function<std::optional<certs::WorkloadCredentialsFinding>()> read =
            [dir, now, policy]() -> std::optional<certs::WorkloadCredentialsFinding> {
          if (!platform::tlsLibraryProblem().empty()) return std::nullopt;
          return certs::inspectWorkloadCredentials(certs::readWorkloadCredentials(dir), now,
                                                   policy);
        };
        auto found = co_await pool_.run<std::optional<certs::WorkloadCredentialsFinding>>(
            read, options_.fileDeadline);
        facts.credentialsLooked = true;
        facts.credentialsTimedOut = !found;
        facts.tlsProblem = platform::tlsLibraryProblem();
        if (found) facts.credentials = std::move(*found);
        break;
      }
      case WorkloadStep::Verdict:
        if (!assessment.unreachable) {
          lastVerdict_ = assessment.result;
          co_return assessment.result;
        }
        if (lastVerdict_) {
          // Keep the verdict: a metadata outage must not look like a change of these
          // credentials.
          ProbeResult kept = *lastVerdict_;
          kept.details.emplace_back("not_rechecked", assessment.why);
          co_return kept;
        }
        co_return assessment.result;
    }
  }
}

}  // namespace guestpulse
