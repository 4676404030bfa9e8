#include <catch2/catch.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

#include "agent/diagnosis/metadata_call.hpp"
#include "agent/metadata/metadata_client.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

const MetadataCallContext kContext{"169.254.169.254:80", "GET instance/id"};

MetadataResult failedAt(HttpStep step, boost::system::error_code ec, bool timedOut = false,
                        int attempts = 1) {
  MetadataResult r;
  for (int i = 0; i < attempts; ++i) {
    HttpResult http;
    http.failedStep = step;
    http.error = ec;
    http.timedOut = timedOut;
    http.peer = "169.254.169.254:80";
    http.elapsed = 2s;
    r.attempts.push_back({http, i == 0 ? 0ms : 1s});
  }
  return r;
}

MetadataResult answered(int status, bool flavor = true, int attempts = 1) {
  MetadataResult r;
  for (int i = 0; i < attempts; ++i) {
    HttpResult http;
    http.response = HttpResponse{status, "", {}, ""};
    if (flavor) http.response->headers.emplace_back("Metadata-Flavor", "Google");
    http.elapsed = 3ms;
    r.attempts.push_back({http, 0ms});
  }
  r.flavorOk = flavor;
  return r;
}

}  // namespace

TEST_CASE("transport failures map to the network causes", "[diagnosis]") {
  auto refused =
      diagnoseMetadataCall(failedAt(HttpStep::Connect, asio::error::connection_refused), kContext);
  CHECK(refused.state == State::Failed);
  CHECK(refused.cause == "net.connection_refused");
  CHECK_THAT(refused.message, Catch::Contains("connect to 169.254.169.254:80"));
  CHECK_THAT(refused.fix, Catch::Contains("REJECT"));

  auto timeout = diagnoseMetadataCall(
      failedAt(HttpStep::Connect, boost::beast::error::timeout, true, 5), kContext);
  CHECK(timeout.cause == "net.timeout");
  CHECK_THAT(timeout.message, Catch::Contains("timeout"));
  CHECK_THAT(timeout.message, Catch::Contains("5 attempts"));

  CHECK(
      diagnoseMetadataCall(failedAt(HttpStep::Connect, asio::error::network_unreachable), kContext)
          .cause == "net.no_route");
  CHECK(diagnoseMetadataCall(failedAt(HttpStep::Connect, asio::error::host_unreachable), kContext)
            .cause == "net.no_route");
  CHECK(diagnoseMetadataCall(failedAt(HttpStep::Resolve, asio::error::host_not_found), kContext)
            .cause == "dns.resolve_failed");
  CHECK(diagnoseMetadataCall(failedAt(HttpStep::Read, asio::error::connection_reset), kContext)
            .cause == "net.connection_reset");
  CHECK(diagnoseMetadataCall(failedAt(HttpStep::Read, boost::beast::error::timeout, true), kContext)
            .cause == "net.timeout");
}

TEST_CASE("HTTP answers map to metadata-server causes", "[diagnosis]") {
  auto ok = diagnoseMetadataCall(answered(200), kContext);
  CHECK(ok.state == State::Ok);
  CHECK(ok.cause.empty());

  auto unavailable = diagnoseMetadataCall(answered(503, true, 5), kContext);
  CHECK(unavailable.state == State::Failed);
  CHECK(unavailable.cause == "mds.unavailable");
  CHECK_THAT(unavailable.message, Catch::Contains("5 attempts"));

  auto throttled = diagnoseMetadataCall(answered(429), kContext);
  CHECK(throttled.state == State::Degraded);
  CHECK(throttled.cause == "mds.throttled");

  CHECK(diagnoseMetadataCall(answered(400), kContext).cause == "mds.header_rejected");
  CHECK(diagnoseMetadataCall(answered(404), kContext).cause == "mds.http_error");
}

TEST_CASE("an answer without Metadata-Flavor: Google is a proxy", "[diagnosis]") {
  auto intercepted = diagnoseMetadataCall(answered(200, false), kContext);
  CHECK(intercepted.state == State::Failed);
  CHECK(intercepted.cause == "proxy.intercepted");
  CHECK_THAT(intercepted.message, Catch::Contains("Metadata-Flavor"));
  // A 403 from the real server (flavor present) means the request was forwarded.
  CHECK(diagnoseMetadataCall(answered(403, true), kContext).cause == "proxy.intercepted");
}

TEST_CASE("metadata endpoints parse like GCE_METADATA_HOST values", "[diagnosis]") {
  auto plain = MetadataEndpoint::parse("http://169.254.169.254");
  REQUIRE(plain);
  CHECK(plain->host == "169.254.169.254");
  CHECK(plain->port == 80);
  CHECK_FALSE(plain->tls);
  auto local = MetadataEndpoint::parse("http://127.0.0.1:8080");
  REQUIRE(local);
  CHECK(local->port == 8080);
  auto tls = MetadataEndpoint::parse("https://metadata.google.internal");
  REQUIRE(tls);
  CHECK(tls->tls);
  CHECK(tls->port == 443);
  auto v6 = MetadataEndpoint::parse("http://[fd20:ce::254]:80");
  REQUIRE(v6);
  CHECK(v6->host == "fd20:ce::254");
  CHECK(v6->display() == "[fd20:ce::254]:80");
  CHECK_FALSE(MetadataEndpoint::parse("ftp://x"));
  CHECK_FALSE(MetadataEndpoint::parse("http://x/computeMetadata"));
  CHECK_FALSE(MetadataEndpoint::parse("169.254.169.254"));
}
