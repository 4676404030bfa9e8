#include "agent/provider/provider_detector.hpp"

#include <cstdlib>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "agent/core/logging.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "platform/firmware.hpp"

namespace guestpulse {

namespace asio = boost::asio;

namespace {

// One tagged request; the answer lands in `out` when one came.
asio::awaitable<void> ask(HttpClient& http, HttpRequest request, Duration timeout,
                          std::optional<HttpResponse>& out) {
  HttpResult result = co_await http.request(std::move(request), timeout);
  if (result.response) out = std::move(result.response);
}

std::optional<HttpRequest> requestFor(const Config& config, Provider provider) {
  auto endpoint = MetadataEndpoint::parse(metadataEndpointFor(config, provider));
  if (!endpoint) return std::nullopt;
  HttpRequest request;
  request.host = endpoint->host;
  request.port = endpoint->port;
  request.tls = endpoint->tls;
  request.bodyLimit = 16 * 1024;
  switch (provider) {
    case Provider::Ec2:
      request.method = "PUT";
      request.target = "/latest/api/token";
      request.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}};
      break;
    case Provider::Azure:
      request.target = "/metadata/versions";
      request.headers = {{"Metadata", "true"}};
      break;
    default:
      request.target = "/computeMetadata/v1/";
      request.headers = {{"Metadata-Flavor", "Google"}};
      break;
  }
  return request;
}

TaggedAnswers askEveryProvider(const Config& config) {
  TaggedAnswers answers;
  if (auto endpoint = MetadataEndpoint::parse(config.metadata.endpoint))
    answers.endpoint = endpoint->display();
  asio::io_context io;
  BlockingPool pool(1);
  HttpClient http(io.get_executor(), pool);
  const std::pair<Provider, std::optional<HttpResponse>*> targets[] = {
      {Provider::Gce, &answers.gce},
      {Provider::Ec2, &answers.ec2},
      {Provider::Azure, &answers.azure}};
  for (const auto& [provider, out] : targets) {
    std::optional<HttpRequest> request = requestFor(config, provider);
    if (!request) continue;
    asio::co_spawn(io, ask(http, std::move(*request), config.detection.timeout, *out),
                   asio::detached);
  }
  io.run();
  return answers;
}

}  // namespace

ProviderChoice resolveProvider(const Config& config) {
  if (config.provider != Provider::Auto) return configuredProvider(config);
  platform::FirmwareIdentity identity =
      platform::readFirmwareIdentity({config.detection.sysfsRoot});
  FirmwareVerdict verdict = providerFromFirmware(identity);
  auto variable = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string_view(value == nullptr ? "" : value);
  };
  std::optional<ProviderChoice> named = providerFromEnvironment(
      verdict, variable("GCE_METADATA_HOST"), variable("AWS_EC2_METADATA_SERVICE_ENDPOINT"));
  std::optional<TaggedAnswers> answers;
  if (!verdict.provider && !named) answers = askEveryProvider(config);
  ProviderChoice choice = named ? *named : chooseProvider(verdict, answers);
  logger("agent")->info("provider {}: {}", toString(choice.provider), choice.reason);
  return choice;
}

}  // namespace guestpulse
