// The http custom probe: one GET, OK when the status is the expected one.

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "agent/net/http_client.hpp"
#include "agent/probes/custom_probes.hpp"

namespace guestpulse {

namespace {

constexpr Duration kDeadlineMargin = std::chrono::seconds(1);
// The body is not looked at, but a health page may be verbose; only a huge one fails.
constexpr std::size_t kBodyLimit = 1024 * 1024;

struct ParsedUrl {
  HttpRequest request;
  std::string hostPort;  // as written in the URL, for messages
};

// The config validator has already accepted the URL; a failure here is a bug guard.
std::optional<ParsedUrl> parseProbeUrl(const std::string& text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return std::nullopt;
  const boost::urls::url_view url = *parsed;
  ParsedUrl out;
  HttpRequest& req = out.request;
  req.tls = url.scheme_id() == boost::urls::scheme::https;
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4:
      req.host = url.host_ipv4_address().to_string();
      break;
    case boost::urls::host_type::ipv6:
      req.host = url.host_ipv6_address().to_string();
      break;
    case boost::urls::host_type::name:
      req.host = url.host();
      break;
    default:
      return std::nullopt;
  }
  req.port = url.has_port() ? url.port_number() : (req.tls ? 443 : 80);
  std::string target(url.encoded_target());
  req.target = target.empty() ? "/" : target;
  req.bodyLimit = kBodyLimit;
  out.hostPort = std::string(url.encoded_host_and_port());
  // The Host header as the URL writes it (brackets kept for an IPv6 literal).
  if (url.host_type() == boost::urls::host_type::ipv6)
    req.headers.emplace_back("Host", out.hostPort);
  return out;
}

std::string transportFix(const HttpResult& result, const std::string& url,
                         const std::string& host) {
  switch (result.failedStep) {
    case HttpStep::Resolve:
      return "check that " + host + " resolves on this VM (getent hosts " + host + ")";
    case HttpStep::Handshake:
      return "check the TLS certificate of " + host +
             ": it must chain to the system trust store and name " + host;
    case HttpStep::Connect:
      if (result.timedOut)
        return "check that the service behind " + url + " is up and that no firewall drops " +
               "the traffic";
      return "check that the service behind " + url + " is running and listening";
    default:
      return "check the service behind " + url;
  }
}

}  // namespace

HttpCustomProbe::HttpCustomProbe(const CustomProbeConfig& config, HttpClient& http)
    : config_(config), http_(http) {}

Duration HttpCustomProbe::deadline() const { return config_.timeout + kDeadlineMargin; }

boost::asio::awaitable<ProbeResult> HttpCustomProbe::run(ProbeRunContext) {
  using custom_detail::clipLine;
  const std::string& url = config_.url;
  std::optional<ParsedUrl> parsed = parseProbeUrl(url);
  if (!parsed) {
    co_return ProbeResult::failed("custom.http_unreachable", clipLine("GET " + url + ": not a URL"),
                                  "fix probes.custom url of '" + config_.name + "'");
  }
  const std::string host = parsed->request.host;
  HttpResult result = co_await http_.request(std::move(parsed->request), config_.timeout);

  ProbeResult out;
  if (!result.ok()) {
    out = ProbeResult::failed("custom.http_unreachable",
                              clipLine("GET " + url + ": " + result.describe(parsed->hostPort)),
                              transportFix(result, url, host));
  } else if (result.response->status != config_.expectStatus) {
    std::string message = "GET " + url + ": HTTP " + std::to_string(result.response->status) +
                          ", expected " + std::to_string(config_.expectStatus);
    const int status = result.response->status;
    if (status >= 300 && status < 400) {
      if (auto location = result.response->header("Location"))
        message += " (redirect to " + *location + " not followed)";
    }
    out = ProbeResult::failed("custom.http_status", clipLine(message),
                              "check the service behind " + url);
    out.details.emplace_back("status", std::to_string(status));
  } else {
    out = ProbeResult::ok(clipLine("GET " + url + ": HTTP " +
                                   std::to_string(result.response->status) + " in " +
                                   formatLatency(result.elapsed)));
    out.details.emplace_back("status", std::to_string(result.response->status));
  }
  out.fix = clipLine(out.fix);
  out.details.emplace_back("url", url);
  out.details.emplace_back("latency_ms", std::to_string(result.elapsed.count()));
  co_return out;
}

}  // namespace guestpulse
