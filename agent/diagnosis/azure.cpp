#include "agent/diagnosis/azure.hpp"

namespace guestpulse {

namespace {

using platform::FixHints;

// The server's words from a JSON error body, as one short printable line.
std::string serverSaid(const MetadataResult& call) {
  std::string text;
  for (char c : call.body()) {
    if (text.size() >= 200) {
      text += "...";
      break;
    }
    text += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  return text.empty() ? std::string() : ": " + text;
}

}  // namespace

std::string azureInstanceTarget() {
  return std::string("/metadata/instance?api-version=") + kAzureApiVersion;
}

ProbeResult diagnoseAzure(const AzureFacts& f, const FixHints& hints) {
  const MetadataCallContext ctx{f.network.endpoint, "GET /metadata/instance",
                                f.network.metadataAddress, f.network.metadataAddress};
  const MetadataResult& call = f.call;
  if (!call.last().ok()) return diagnoseUnanswered(call, ctx, f.network, hints);
  auto fill = [&](const std::string& text) {
    return platform::fillHint(
        text, {{"address", f.network.metadataAddress}, {"endpoint", f.network.endpoint}});
  };
  const int status = call.status();
  const std::string said =
      ctx.what + ": " + ctx.endpoint + " answered HTTP " + std::to_string(status);
  const std::string bypass = "NO_PROXY=" + f.network.metadataAddress;

  if (status >= 200 && status < 300) {
    const HttpResult& http = call.last();
    ProbeResult ok = ProbeResult::ok(ctx.what + " answered in " + formatDuration(http.elapsed) +
                                     attemptsNote(call));
    ok.details.emplace_back("latency_ms", std::to_string(http.elapsed.count()));
    ok.details.emplace_back("attempts", std::to_string(call.attempts.size()));
    ok.details.emplace_back("api_version", kAzureApiVersion);
    if (auto proxy = diagnoseProxyExposure(f.network, hints)) return *proxy;
    return ok;
  }
  if (status == 400)
    return ProbeResult::failed(
        "azure_imds.bad_request",
        said + " (Bad Request)" + serverSaid(call) +
            "; guestpulse sends Metadata: true and api-version=" + kAzureApiVersion +
            ", so the request did not arrive as sent",
        "something between this VM and IMDS rewrites requests or adds X-Forwarded-For (a "
        "proxy: set " +
            bypass + "; packet rewriting: " + fill(hints.listRewrites) + ")");
  if (status == 404 || status == 410) {
    const bool gone = status == 410;
    const std::string cause = gone ? "azure_imds.updating" : "azure_imds.not_found";
    const std::string what = said + (gone ? " (Gone)" : " (Not Found)") +
                             ": IMDS is being updated; such answers for " +
                             formatDuration(f.updatingFor) + " so far" + attemptsNote(call);
    if (f.updatingFor < kAzureUpdatingGrace)
      return ProbeResult::degraded(
          cause, what,
          "wait: Microsoft says to retry for up to " + formatDuration(kAzureUpdatingGrace) +
              "; guestpulse keeps retrying with backoff and reports a failure after that");
    return ProbeResult::failed(
        cause,
        what + ", longer than the " + formatDuration(kAzureUpdatingGrace) + " an update takes",
        "check the VM's Resource health and the Azure status page; if it lasts, redeploy the VM "
        "(az vm redeploy)");
  }
  if (status == 429)
    return ProbeResult::degraded(
        "azure_imds.throttled", said + " (Too Many Requests)" + attemptsNote(call),
        "IMDS allows about 5 requests a second per VM: something on this VM sends more; find "
        "it (" +
            fill(hints.findClients) + ") and make it cache; guestpulse backs off meanwhile");
  if (status >= 500)
    return ProbeResult::failed(
        "azure_imds.unavailable", said + " past the retry budget" + attemptsNote(call),
        "IMDS is failing; guestpulse keeps retrying with backoff. If it lasts, check the VM's "
        "Resource health and the Azure status page");
  ProbeResult other = ProbeResult::failed(
      "azure_imds.http_error", said + serverSaid(call) + attemptsNote(call),
      "unexpected answer from IMDS; check that nothing intercepts requests to " +
          f.network.metadataAddress + " (" + bypass + ")");
  if (f.network.firewall && !f.network.firewall->redirecting.empty()) {
    other.cause = "proxy.intercepted";
    other.message += "; a NAT rule sends metadata traffic elsewhere";
    addRedirectEvidence(other, f.network);
  }
  return other;
}

}  // namespace guestpulse
