#include "agent/diagnosis/metadata_call.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>

#include "agent/core/text.hpp"

namespace guestpulse {

namespace asio = boost::asio;

std::string attemptsNote(const MetadataResult& call) {
  if (call.attempts.size() <= 1) return {};
  Duration total{0};
  for (const auto& attempt : call.attempts) total += attempt.waitedBefore + attempt.http.elapsed;
  return " (" + std::to_string(call.attempts.size()) + " attempts over " + formatDuration(total) +
         ")";
}

std::string describeCall(const MetadataResult& call, const MetadataCallContext& ctx) {
  return ctx.what + ": " + call.last().describe(ctx.endpoint) + attemptsNote(call);
}

namespace {

ProbeResult diagnoseTransport(const MetadataResult& call, const MetadataCallContext& ctx,
                              const platform::FixHints& hints) {
  const HttpResult& http = call.last();
  const auto& ec = http.error;
  const std::string message = describeCall(call, ctx);
  auto hint = [&](const std::string& text) {
    return platform::fillHint(text, {{"address", ctx.address},
                                     {"endpoint", ctx.endpoint},
                                     {"interface", hints.unknownInterface}});
  };

  switch (http.failedStep) {
    case HttpStep::Resolve:
      return ProbeResult::failed("dns.resolve_failed", message,
                                 "the metadata endpoint's name does not resolve: check " +
                                     hints.hostsFile + " and " + hints.resolverConfig +
                                     ", or set the endpoint to http://" + ctx.address);
    case HttpStep::Connect:
      if (http.timedOut || ec == asio::error::timed_out)
        return ProbeResult::failed("net.timeout", message,
                                   "nothing answered a TCP connect to " + ctx.endpoint +
                                       ": look for a firewall DROP rule (" +
                                       hint(hints.listBlockRules) + ") or a missing route (" +
                                       hint(hints.showRoute) + ")");
      if (ec == asio::error::connection_refused)
        return ProbeResult::failed("net.connection_refused", message,
                                   "the connection was actively refused: on a link-local address "
                                   "that is a local firewall REJECT rule; " +
                                       hint(hints.findRejectRule) + " and remove it");
      if (ec == asio::error::network_unreachable || ec == asio::error::host_unreachable)
        return ProbeResult::failed(
            "net.no_route", message,
            "the kernel has no route to " + ctx.endpoint + ": " + hint(hints.restoreRoute));
      return ProbeResult::failed("net.connect_failed", message,
                                 "check the network path to " + ctx.endpoint);
    case HttpStep::Handshake:
      return ProbeResult::failed("mtls.handshake_failed", message,
                                 "check the TLS settings of the metadata endpoint");
    case HttpStep::Write:
    case HttpStep::Read:
    case HttpStep::None:
      if (http.timedOut)
        return ProbeResult::failed(
            "net.timeout", message,
            "the metadata server accepted the connection but did not answer in time: a "
            "filtering middlebox or an overloaded host; check firewall rules and proxies");
      if (http.cutShort)
        return ProbeResult::failed(
            "net.connection_reset", message,
            "the connection was closed in the middle of the answer: a proxy or middlebox that "
            "drops long answers, or the server restarting; if it repeats, look for a proxy in "
            "the path (NO_PROXY) and for rules touching " +
                ctx.endpoint);
      if (ec == asio::error::connection_reset || ec == boost::beast::http::error::end_of_stream ||
          ec == asio::error::eof || ec == asio::error::broken_pipe)
        return ProbeResult::failed(
            "net.connection_reset", message,
            "the connection was cut before an answer: look for a firewall rule rejecting "
            "with tcp-reset or a proxy in the path");
      if (ec == boost::beast::http::error::body_limit ||
          ec == boost::beast::http::error::header_limit)
        return ProbeResult::failed(
            "mds.bad_response", message,
            "the metadata server's answers are small; one this large comes from something "
            "else answering at " +
                ctx.endpoint + ": look for a proxy or a redirect rule (" +
                hint(hints.listRedirects) + ")");
      return ProbeResult::failed(
          "mds.bad_response", message,
          "the answer was not valid HTTP from the metadata server: look for a proxy in the path");
  }
  return ProbeResult::failed("net.connect_failed", message, "check the network path");
}

}  // namespace

ProbeResult diagnoseMetadataCall(const MetadataResult& call, const MetadataCallContext& ctx,
                                 const platform::FixHints& hints) {
  const HttpResult& http = call.last();
  if (!http.ok()) return diagnoseTransport(call, ctx, hints);
  auto hint = [&](const std::string& text) {
    return platform::fillHint(text, {{"address", ctx.address},
                                     {"endpoint", ctx.endpoint},
                                     {"interface", hints.unknownInterface}});
  };

  int status = http.response->status;
  std::string answered =
      ctx.what + ": " + ctx.endpoint + " answered HTTP " + std::to_string(status);
  // A redirect says where it points; it is never followed.
  if (status >= 300 && status < 400) {
    auto location = http.response->header("Location");
    answered += location ? " (redirect to '" + quoteOutside(*location) + "', not followed)"
                         : " (a redirect without a Location, not followed)";
  }
  const std::string exempt = "exempt " + ctx.address + " and " + ctx.hostname + " from the proxy";
  if (!call.flavorOk) {
    return ProbeResult::failed(
        "proxy.intercepted",
        answered +
            " without the Metadata-Flavor: Google header, so something other than the "
            "metadata server answered",
        "metadata requests are being intercepted (a proxy, or a redirect rule): " + exempt +
            " (NO_PROXY) and " + hint(hints.listRedirects));
  }
  if (status >= 200 && status < 300) {
    ProbeResult ok = ProbeResult::ok(ctx.what + " answered in " + formatLatency(http.elapsed) +
                                     attemptsNote(call));
    ok.details.emplace_back("latency_ms", std::to_string(http.elapsed.count()));
    ok.details.emplace_back("attempts", std::to_string(call.attempts.size()));
    return ok;
  }
  if (status == 503 || status == 500 || status == 502 || status == 504)
    return ProbeResult::failed(
        "mds.unavailable", answered + " past the retry budget" + attemptsNote(call),
        "the metadata server is unavailable, typically during host maintenance or live "
        "migration; guestpulse keeps retrying with backoff. If it lasts, check the VM's "
        "maintenance events and the cloud status page");
  if (status == 429)
    return ProbeResult::degraded(
        "mds.throttled", answered + " (Too Many Requests)" + attemptsNote(call),
        "something on this VM sends too many metadata requests; find it (" +
            hint(hints.findClients) +
            ") and make it cache or back off; guestpulse backs off meanwhile");
  if (status == 400)
    return ProbeResult::failed(
        "mds.header_rejected", answered + " (Bad Request): the request as it arrived was malformed",
        "something between this agent and the metadata server rewrites requests (a proxy or "
        "packet-mangling rule); check NO_PROXY and " +
            hint(hints.listRewrites));
  if (status == 403)
    return ProbeResult::failed(
        "proxy.intercepted",
        answered +
            " (Forbidden): the server refuses forwarded requests, so the request went "
            "through a proxy",
        exempt + ": add them to NO_PROXY/no_proxy" +
            (hints.systemProxySource.empty()
                 ? std::string()
                 : " and to the " + hints.systemProxySource + " proxy's bypass list"));
  return ProbeResult::failed("mds.http_error", answered + attemptsNote(call),
                             "unexpected answer from the metadata server; retry later and "
                             "check the endpoint configuration");
}

}  // namespace guestpulse
