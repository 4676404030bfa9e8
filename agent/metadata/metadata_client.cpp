#include "agent/metadata/metadata_client.hpp"

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

MetadataFlavor MetadataFlavor::ec2() {
  MetadataFlavor flavor;
  flavor.prefix = "/latest/";
  flavor.headers.clear();
  flavor.signature.reset();
  return flavor;
}

MetadataFlavor MetadataFlavor::azure() {
  MetadataFlavor flavor;
  flavor.prefix = "/metadata/";
  flavor.headers = {{"Metadata", "true"}};
  flavor.signature.reset();
  // Microsoft: "410 Gone: retry after some time for a max of 70 seconds". A 404 for
  // /metadata/instance, a path that always exists, is taken the same way.
  flavor.transientStatuses = {404, 410};
  return flavor;
}

MetadataClient::MetadataClient(HttpClient& http, MetadataEndpoint endpoint, Duration timeout,
                               RetrySettings retry, UnitRandom random, MetadataFlavor flavor)
    : http_(http),
      endpoint_(std::move(endpoint)),
      timeout_(timeout),
      retry_(retry),
      random_(std::move(random)),
      flavor_(std::move(flavor)) {}

asio::awaitable<MetadataResult> MetadataClient::get(std::string path, int attempts,
                                                    HttpHeaders headers) {
  return call("GET", std::move(path), {}, attempts, std::move(headers));
}

asio::awaitable<MetadataResult> MetadataClient::put(std::string path, std::string body,
                                                    int attempts, HttpHeaders headers) {
  return call("PUT", std::move(path), std::move(body), attempts, std::move(headers));
}

asio::awaitable<MetadataResult> MetadataClient::call(std::string method, std::string path,
                                                     std::string body, int attempts,
                                                     HttpHeaders headers) {
  RetryingCall call;
  call.request.method = std::move(method);
  call.request.host = endpoint_.host;
  call.request.port = endpoint_.port;
  call.request.tls = endpoint_.tls;
  call.request.target = path.starts_with('/') ? path : flavor_.prefix + path;
  call.request.headers = flavor_.headers;
  for (auto& header : headers) call.request.headers.push_back(std::move(header));
  call.request.body = std::move(body);
  call.timeout = timeout_;
  call.retry = retry_;
  if (attempts > 0) call.retry.attempts = attempts;
  call.signature = flavor_.signature;
  call.transientStatuses = flavor_.transientStatuses;
  call.tls = tls_;
  call.counters = &counters_;
  MetadataResult result = co_await callWithRetries(http_, std::move(call), random_);
  co_return result;
}

}  // namespace guestpulse
