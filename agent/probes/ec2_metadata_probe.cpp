#include "agent/probes/ec2_metadata_probe.hpp"

#include "agent/diagnosis/ec2.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/metadata_probe.hpp"

namespace guestpulse {

namespace asio = boost::asio;

namespace {

// An instance ID as EC2 spells it, or "" (the answer is only used inside fix hints).
std::string instanceIdFrom(const std::string& body) {
  if (body.size() < 3 || body.size() > 32 || !body.starts_with("i-")) return {};
  for (char c : body.substr(2))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  return body;
}

// The call the diagnosis is about: the token PUT when it did not succeed, else the GET
// (else the PUT, when it succeeded without a usable token).
const MetadataResult& subjectCall(const Ec2Facts& facts) {
  if (facts.token && facts.token->status() / 100 != 2) return *facts.token;
  return facts.get ? *facts.get : *facts.token;
}

}  // namespace

std::string ec2MetadataAddress(const MetadataEndpoint& endpoint) {
  return endpoint.host == "fd00:ec2::254" ? endpoint.host : "169.254.169.254";
}

Ec2MetadataProbe::Ec2MetadataProbe(MetadataClient& imds, HttpClient& http,
                                   Ec2MetadataProbeOptions options,
                                   std::shared_ptr<platform::Inspector> inspector,
                                   BlockingPool* pool)
    : imds_(imds),
      client_(imds, options.tokenTtl),
      http_(http),
      options_(std::move(options)),
      inspection_(std::move(inspector), pool) {}

Duration Ec2MetadataProbe::deadline() const {
  // Token and GET, once more after a refused cached token; the TCP check and the GET
  // without a token; the evidence.
  const Duration call = worstCaseCallTime(imds_.retrySettings(), imds_.timeout());
  return 4 * call + 3 * imds_.timeout() + options_.inspectionDeadline + std::chrono::seconds(2);
}

asio::awaitable<ProbeResult> Ec2MetadataProbe::run(ProbeRunContext context) {
  MetadataClient& imds = imds_;
  Ec2Facts facts;
  facts.network.endpoint = imds.endpoint().display();
  facts.network.metadataAddress = ec2MetadataAddress(imds.endpoint());
  const int attempts = context.alreadyFailing ? 1 : 0;

  Ec2Call call = co_await client_.get(kEc2InstanceIdPath, attempts);
  if (call.get && call.get->status() == 200) {
    std::string id = instanceIdFrom(call.get->body());
    if (!id.empty()) instanceId_ = std::move(id);
  }
  facts.instanceId = instanceId_;
  facts.tokenFresh = call.tokenFresh;
  facts.cachedTokenRejected = call.cachedTokenRejected;
  facts.token = std::move(call.token);
  facts.get = std::move(call.get);

  const MetadataResult& subject = subjectCall(facts);
  const bool failed = subject.status() != 200;
  const HttpResult& last = subject.last();
  const std::string address = dialledAddress(imds.endpoint(), last);
  const Duration quick = imds.timeout();

  if (failed && !last.ok()) {
    // The token's answer never came: can TCP connect, and are GETs answered at all?
    const bool tokenUnanswered =
        facts.token && &subject == &*facts.token && last.timedOut &&
        (last.failedStep == HttpStep::Read || last.failedStep == HttpStep::Write);
    if (tokenUnanswered) {
      HttpResult tcp =
          co_await http_.connectOnly(imds.endpoint().host, imds.endpoint().port, quick);
      facts.tcp = std::move(tcp);
      MetadataResult tokenless = co_await client_.getWithoutToken(kEc2InstanceIdPath);
      facts.tokenless = std::move(tokenless);
    }
    co_await inspection_.explainUnanswered(last, address, imds.endpoint().host, quick,
                                           options_.inspectionDeadline, facts.network);
  } else if (subject.status() == 400 || subject.status() == 403) {
    // IMDS refuses forwarded requests: a NAT rule that redirects its address is the lead.
    if (!address.empty()) {
      auto firewallFacts = co_await inspection_.firewall(address, options_.inspectionDeadline);
      facts.network.firewall = std::move(firewallFacts);
    }
  } else if (!failed && address == facts.network.metadataAddress) {
    // Other software on the instance goes through the proxy variables; this agent never does.
    auto proxyFacts = co_await inspection_.proxies(quick);
    if (proxyFacts)
      facts.network.proxies = findProxyExposures(*proxyFacts, {facts.network.metadataAddress});
  }
  ProbeResult result = diagnoseEc2(facts);
  co_return result;
}

}  // namespace guestpulse
