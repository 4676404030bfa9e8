#include "agent/diagnosis/ec2.hpp"

#include <algorithm>

namespace guestpulse {

namespace {

using platform::FixHints;

std::string instance(const Ec2Facts& f) {
  return f.instanceId.empty() ? "INSTANCE_ID" : f.instanceId;
}

std::string modifyOptions(const Ec2Facts& f, const std::string& option) {
  return "aws ec2 modify-instance-metadata-options --instance-id " + instance(f) + " " + option;
}

bool sawStatus(const MetadataResult& call, int status) {
  return std::any_of(call.attempts.begin(), call.attempts.end(), [&](const MetadataAttempt& a) {
    return a.http.response && a.http.response->status == status;
  });
}

MetadataCallContext context(const Ec2Facts& f, const std::string& what) {
  return {f.network.endpoint, what, f.network.metadataAddress, f.network.metadataAddress};
}

std::string answered(const MetadataResult& call, const MetadataCallContext& ctx) {
  return ctx.what + ": " + ctx.endpoint + " answered HTTP " + std::to_string(call.status());
}

std::string fill(const std::string& text, const Ec2Facts& f) {
  return platform::fillHint(
      text, {{"address", f.network.metadataAddress}, {"endpoint", f.network.endpoint}});
}

std::string bypassProxy(const Ec2Facts& f) { return "NO_PROXY=" + f.network.metadataAddress; }

// Statuses any IMDS call can get, with the same meaning on the PUT and the GET.
ProbeResult diagnoseStatus(const Ec2Facts& f, const MetadataResult& call,
                           const MetadataCallContext& ctx, const FixHints& hints) {
  const int status = call.status();
  const std::string said = answered(call, ctx);
  if (status == 403) {
    ProbeResult disabled = ProbeResult::failed(
        "imds.disabled",
        said +
            " (Forbidden): the instance metadata service is turned off for this instance "
            "(HttpEndpoint disabled), or the request went through a proxy, which IMDS refuses",
        "turn it on: " + modifyOptions(f, "--http-endpoint enabled") +
            "; if it is on, requests pass a proxy: set " + bypassProxy(f));
    if (f.network.firewall && !f.network.firewall->redirecting.empty()) {
      disabled.cause = "proxy.intercepted";
      disabled.message = said +
                         " (Forbidden): IMDS refuses forwarded requests, and a NAT rule "
                         "sends metadata traffic elsewhere";
      addRedirectEvidence(disabled, f.network);
    }
    return disabled;
  }
  if (status == 404)
    return ProbeResult::failed(
        "imds.not_found",
        said + " (Not Found): the path is not served at this endpoint" + attemptsNote(call),
        "check that metadata.endpoint (or AWS_EC2_METADATA_SERVICE_ENDPOINT) is EC2's instance "
        "metadata service, http://169.254.169.254 or http://[fd00:ec2::254]");
  if (status == 429)
    return ProbeResult::degraded(
        "imds.throttled", said + " (Too Many Requests)" + attemptsNote(call),
        "IMDS throttles this instance: something on it sends too many metadata requests; find "
        "it (" +
            fill(hints.findClients, f) +
            ") and make it cache its token and answers; guestpulse backs off meanwhile");
  if (status >= 500)
    return ProbeResult::failed(
        "imds.unavailable", said + " past the retry budget" + attemptsNote(call),
        "the instance metadata service is failing; guestpulse keeps retrying with backoff. If "
        "it lasts, check the instance's status checks and the AWS Health Dashboard");
  return ProbeResult::failed("imds.http_error", said + attemptsNote(call),
                             "unexpected answer from the instance metadata service; check the "
                             "endpoint configuration");
}

std::string tokenlessNote(const Ec2Facts& f) {
  if (!f.tokenless) return {};
  const MetadataResult& v1 = *f.tokenless;
  if (!v1.last().ok())
    return "; a GET without a token got no answer either (" +
           v1.last().describe(f.network.endpoint) + ")";
  const int status = v1.status();
  if (status == 200)
    return "; a GET without a token was answered HTTP 200: IMDSv1 is allowed here, so AWS SDKs "
           "silently fall back to it and hide this problem";
  if (status == 401)
    return "; a GET without a token was answered HTTP 401 (IMDSv2 required), so GETs get "
           "through";
  return "; a GET without a token was answered HTTP " + std::to_string(status);
}

// The token PUT got no HTTP answer.
ProbeResult diagnoseTokenUnanswered(const Ec2Facts& f, const FixHints& hints) {
  const MetadataResult& put = *f.token;
  const MetadataCallContext ctx = context(f, std::string("PUT ") + kEc2TokenPath);
  const HttpResult& last = put.last();
  const bool noAnswer =
      last.timedOut && (last.failedStep == HttpStep::Read || last.failedStep == HttpStep::Write);
  if (noAnswer && sawStatus(put, 429))
    return ProbeResult::degraded(
        "imds.throttled",
        describeCall(put, ctx) + "; earlier attempts were answered 429: throttled under load",
        "something on this instance sends too many metadata requests; find it (" +
            fill(hints.findClients, f) + ") and make it cache; guestpulse backs off meanwhile");
  const bool tcpConnects = f.tcp && f.tcp->failedStep == HttpStep::None && !f.tcp->error;
  const bool getsAnswered = f.tokenless && f.tokenless->last().ok();
  if (noAnswer && tcpConnects && getsAnswered) {
    return ProbeResult::failed(
        "imds.hop_limit",
        describeCall(put, ctx) + ", while TCP to " + f.network.endpoint + " connects" +
            tokenlessNote(f) +
            ": the token's answer dies at its hop limit (this agent is more routed hops away "
            "than HttpPutResponseHopLimit, typically in a container)",
        "raise the limit: " + modifyOptions(f, "--http-put-response-hop-limit 2") +
            " (one more per extra hop), or run the agent with the host's network");
  }
  ProbeResult result = diagnoseUnanswered(put, ctx, f.network, hints);
  if (noAnswer && tcpConnects) result.message += "; TCP to " + f.network.endpoint + " connects";
  result.message += tokenlessNote(f);
  return result;
}

ProbeResult diagnoseToken(const Ec2Facts& f, const FixHints& hints) {
  const MetadataResult& put = *f.token;
  if (!put.last().ok()) return diagnoseTokenUnanswered(f, hints);
  const MetadataCallContext ctx = context(f, std::string("PUT ") + kEc2TokenPath);
  if (put.status() == 400)
    return ProbeResult::failed(
        "imds.bad_token_request",
        answered(put, ctx) +
            " (Bad Request): the token request arrived without a valid "
            "X-aws-ec2-metadata-token-ttl-seconds header (1 to 21600); guestpulse sends one, so "
            "something on the way rewrites requests",
        "look for a proxy or a packet-rewriting rule between this instance and IMDS: set " +
            bypassProxy(f) + " and check " + fill(hints.listRewrites, f));
  return diagnoseStatus(f, put, ctx, hints);
}

ProbeResult diagnoseGet(const Ec2Facts& f, const FixHints& hints) {
  const MetadataResult& get = *f.get;
  const MetadataCallContext ctx = context(f, std::string("GET ") + kEc2InstanceIdPath);
  if (!get.last().ok()) return diagnoseUnanswered(get, ctx, f.network, hints);
  const int status = get.status();
  if (status >= 200 && status < 300) {
    const HttpResult& http = get.last();
    ProbeResult ok = ProbeResult::ok(ctx.what + " with an IMDSv2 token answered in " +
                                     formatDuration(http.elapsed) + attemptsNote(get));
    ok.details.emplace_back("latency_ms", std::to_string(http.elapsed.count()));
    ok.details.emplace_back("attempts", std::to_string(get.attempts.size()));
    ok.details.emplace_back("token", f.tokenFresh ? "new" : "cached");
    return ok;
  }
  if (status == 401 && f.tokenFresh)
    return ProbeResult::failed(
        "imds.token_rejected",
        answered(get, ctx) + " (Unauthorized) with a token IMDS issued moments before" +
            (f.cachedTokenRejected ? ", after the cached token was refused too" : "") +
            ": the token does not arrive as issued, or reaches another server",
        "check that nothing rewrites or strips the X-aws-ec2-metadata-token header (a proxy: "
        "set " +
            bypassProxy(f) + "; packet rewriting: " + fill(hints.listRewrites, f) +
            "), and the instance's metadata options: aws ec2 describe-instances --instance-ids " +
            instance(f) + " --query 'Reservations[].Instances[].MetadataOptions'");
  if (status == 401)  // a cached token refused: the probe renews it; reached only if it did not
    return ProbeResult::failed("imds.token_rejected",
                               answered(get, ctx) + " (Unauthorized): the cached token was refused",
                               "guestpulse renews the token on the next run");
  return diagnoseStatus(f, get, ctx, hints);
}

}  // namespace

ProbeResult diagnoseEc2(const Ec2Facts& f, const FixHints& hints) {
  if (f.token && (!f.token->last().ok() || f.token->status() < 200 || f.token->status() >= 300))
    return diagnoseToken(f, hints);
  if (!f.get)
    return ProbeResult::failed(
        "imds.http_error",
        std::string("PUT ") + kEc2TokenPath + ": " + f.network.endpoint +
            " answered without a usable token (an empty or malformed body)",
        "something other than EC2's instance metadata service answers at " + f.network.endpoint +
            ": check metadata.endpoint and NO_PROXY=" + f.network.metadataAddress);
  ProbeResult result = diagnoseGet(f, hints);
  if (result.state != State::Ok) return result;
  // IMDS answers. What is left hurts other software on the instance: the proxy environment.
  if (auto proxy = diagnoseProxyExposure(f.network, hints)) return *proxy;
  return result;
}

}  // namespace guestpulse
