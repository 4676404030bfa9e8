#include "agent/probes/metadata_probe.hpp"

#include "agent/probes/metadata_diagnosis.hpp"

namespace guestpulse {

MetadataProbe::MetadataProbe(MetadataClient& client, Duration interval)
    : client_(client), interval_(interval) {}

Duration worstCaseCallTime(const RetrySettings& retry, Duration timeout) {
  RetryPolicy ceilings(retry, [] { return 1.0; });
  Duration total = timeout * retry.attempts + std::chrono::seconds(1);
  for (int i = 0; i + 1 < retry.attempts; ++i) total += ceilings.ceiling(i);
  return total;
}

Duration MetadataProbe::deadline() const {
  return worstCaseCallTime(client_.retrySettings(), client_.timeout());
}

boost::asio::awaitable<ProbeResult> MetadataProbe::run(ProbeRunContext context) {
  MetadataResult call = co_await client_.get("instance/id", context.alreadyFailing ? 1 : 0);
  co_return diagnoseMetadataCall(call, {client_.endpoint().display(), "GET instance/id"});
}

}  // namespace guestpulse
