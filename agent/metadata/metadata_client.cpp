#include "agent/metadata/metadata_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

namespace guestpulse {

namespace asio = boost::asio;

std::optional<MetadataEndpoint> MetadataEndpoint::parse(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  MetadataEndpoint endpoint;
  if (parsed->scheme() == "http")
    endpoint.tls = false;
  else if (parsed->scheme() == "https")
    endpoint.tls = true;
  else
    return std::nullopt;
  if (!parsed->has_authority() || parsed->encoded_host().empty()) return std::nullopt;
  std::string host = parsed->host_address();
  if (parsed->host_type() == boost::urls::host_type::ipv6) {
    host = parsed->host_address();  // without brackets
  }
  endpoint.host = host;
  endpoint.port = endpoint.tls ? 443 : 80;
  if (parsed->has_port()) {
    auto port = parsed->port_number();
    if (port == 0) return std::nullopt;
    endpoint.port = port;
  }
  std::string_view path = parsed->encoded_path();
  if (!path.empty() && path != "/") return std::nullopt;
  return endpoint;
}

std::string MetadataEndpoint::display() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

const std::string& MetadataResult::body() const {
  static const std::string empty;
  return last().response ? last().response->body : empty;
}

MetadataClient::MetadataClient(HttpClient& http, MetadataEndpoint endpoint, Duration timeout,
                               RetrySettings retry, UnitRandom random)
    : http_(http),
      endpoint_(std::move(endpoint)),
      timeout_(timeout),
      retry_(retry),
      random_(std::move(random)) {}

asio::awaitable<MetadataResult> MetadataClient::get(std::string path, int attempts) {
  return call("GET", std::move(path), {}, attempts);
}

asio::awaitable<MetadataResult> MetadataClient::put(std::string path, std::string body,
                                                    int attempts) {
  return call("PUT", std::move(path), std::move(body), attempts);
}

asio::awaitable<MetadataResult> MetadataClient::call(std::string method, std::string path,
                                                     std::string body, int attempts) {
  RetrySettings settings = retry_;
  if (attempts > 0) settings.attempts = attempts;
  RetryPolicy policy(settings, random_);

  MetadataResult result;
  result.target = path.starts_with('/') ? path : kGceMetadataPrefix + path;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Duration waited{0};
  for (;;) {
    HttpRequest request;
    request.method = method;
    request.host = endpoint_.host;
    request.port = endpoint_.port;
    request.tls = endpoint_.tls;
    request.target = result.target;
    request.headers = {{"Metadata-Flavor", "Google"}};
    request.body = body;
    ++counters_.requests;
    HttpResult http = co_await http_.request(std::move(request), timeout_, tls_);
    if (!http.ok()) ++counters_.transportErrors;

    AttemptOutcome outcome =
        http.ok() ? AttemptOutcome::status(http.response->status) : AttemptOutcome::transport();
    result.flavorOk = http.ok() && http.response->header("Metadata-Flavor") == "Google";
    result.attempts.push_back({std::move(http), waited});

    // Success, or an answer that did not come from the metadata server (a proxy):
    // retrying will not change either.
    if (outcome.httpStatus >= 200 && outcome.httpStatus < 300) break;
    if (!outcome.transportError && !result.flavorOk) break;
    auto delay = policy.onFailure(outcome);
    if (!delay) break;
    ++counters_.retries;
    timer.expires_after(*delay);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) break;  // cancelled: the caller's deadline or shutdown
    waited = *delay;
  }
  co_return result;
}

}  // namespace guestpulse
