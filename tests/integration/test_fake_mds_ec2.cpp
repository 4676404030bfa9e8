// Self-test of fake-mds as EC2's IMDS (--provider ec2), with raw Beast clients on loopback
// port 0: IMDSv2 tokens and their TTL, 400/401/403/405 as AWS documents them, IMDSv1 on
// and off, the endpoint disabled, and the hop limit really set on the token answer.

#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "tests/fake_mds/fake_mds.hpp"
#include "tests/integration/http_test_client.hpp"

#if defined(__linux__)
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#endif

namespace {

namespace http = boost::beast::http;
using guestpulse::fake::Ec2Options;
using guestpulse::fake::FakeMds;
using guestpulse::fake::Options;
using guestpulse::fake::Provider;
using guestpulse::testing::Client;
using guestpulse::testing::Response;
using namespace std::chrono_literals;

constexpr const char* kTokenPath = "/latest/api/token";
constexpr const char* kTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
constexpr const char* kTokenHeader = "X-aws-ec2-metadata-token";
constexpr const char* kInstanceId = "/latest/meta-data/instance-id";

Options ec2(Ec2Options ec2 = {}) {
  Options options;
  options.provider = Provider::Ec2;
  options.ec2 = ec2;
  return options;
}

struct Ec2Fake {
  FakeMds mds;
  explicit Ec2Fake(Ec2Options options = {}) : mds(ec2(options)) { mds.start(); }
  Client client() { return Client(mds.port()); }
};

Response putToken(Client& c, const std::string& ttl, Client::Headers extra = {}) {
  extra.emplace_back(kTtlHeader, ttl);
  return c.request(http::verb::put, kTokenPath, false, "", extra);
}

Response getWith(Client& c, const std::string& target, const std::string& token) {
  return c.request(http::verb::get, target, false, "", {{kTokenHeader, token}});
}

bool isEc2Page(const Response& r, int status) {
  std::string title = "<title>" + std::to_string(status) + " - ";
  return r.header("Content-Type") == "text/html" && r.header("Server") == "EC2ws" &&
         r.msg.body().find(title) != std::string::npos &&
         r.msg.body().starts_with("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>");
}

}  // namespace

TEST_CASE("fake-mds ec2: IMDSv2 token, then metadata with it", "[fake_mds][ec2]") {
  Ec2Fake f;
  Client c = f.client();
  Response token = putToken(c, "21600");
  REQUIRE(token.status() == 200);
  CHECK(std::regex_match(token.msg.body(), std::regex("[A-Za-z0-9+/]{56}")));
  CHECK(token.header("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "21600");
  CHECK(token.header("Server") == "EC2ws");
  CHECK(f.mds.ec2Tokens() == 1);

  Response id = getWith(c, kInstanceId, token.msg.body());
  CHECK(id.status() == 200);
  CHECK(id.msg.body() == "i-0123456789abcdef0");
  CHECK(id.header("Content-Type") == "text/plain");
  CHECK(getWith(c, "/latest/meta-data/placement/region", token.msg.body()).msg.body() ==
        "eu-west-1");
  // Listings: one name a line, directories marked, no final newline; with or without '/'.
  std::string listing = getWith(c, "/latest/meta-data/", token.msg.body()).msg.body();
  CHECK(listing.find("instance-id\n") != std::string::npos);
  CHECK(listing.find("iam/\n") != std::string::npos);
  CHECK_FALSE(listing.ends_with('\n'));
  CHECK(getWith(c, "/latest/meta-data/placement", token.msg.body()).msg.body() ==
        getWith(c, "/latest/meta-data/placement/", token.msg.body()).msg.body());

  // What @smithy/credential-provider-imds asks for: the role, then its credentials.
  Response role = getWith(c, "/latest/meta-data/iam/security-credentials/", token.msg.body());
  REQUIRE(role.msg.body() == "guestpulse-test-role");
  Response creds = getWith(c, "/latest/meta-data/iam/security-credentials/guestpulse-test-role",
                           token.msg.body());
  CHECK(creds.status() == 200);
  for (const char* field : {"\"Code\" : \"Success\"", "\"AccessKeyId\" : \"ASIA",
                            "\"SecretAccessKey\"", "\"Token\"", "\"Expiration\""})
    CHECK(creds.msg.body().find(field) != std::string::npos);
  Response document = getWith(c, "/latest/dynamic/instance-identity/document", token.msg.body());
  CHECK(document.msg.body().find("\"region\" : \"eu-west-1\"") != std::string::npos);
  CHECK(isEc2Page(getWith(c, "/latest/meta-data/nope", token.msg.body()), 404));
}

TEST_CASE("fake-mds ec2: the token PUT's TTL is checked like IMDS's", "[fake_mds][ec2]") {
  Ec2Fake f;
  Client c = f.client();
  for (const char* bad : {"0", "21601", "-5", "ten", "", "60s"}) {
    INFO("TTL '" << bad << "'");
    CHECK(isEc2Page(putToken(c, bad), 400));
  }
  CHECK(isEc2Page(c.request(http::verb::put, kTokenPath, false), 400));  // no TTL header
  CHECK(putToken(c, "1").status() == 200);
  CHECK(putToken(c, "21600").status() == 200);
  CHECK(isEc2Page(c.get(kTokenPath, false), 405));
  // Through a proxy: refused, whatever the TTL.
  CHECK(isEc2Page(putToken(c, "60", {{"X-Forwarded-For", "10.0.0.9"}}), 403));
  CHECK(f.mds.ec2Tokens() == 2);
}

TEST_CASE("fake-mds ec2: 401 without a valid token while tokens are required", "[fake_mds][ec2]") {
  Ec2Fake f;
  Client c = f.client();
  CHECK(isEc2Page(c.get(kInstanceId, false), 401));               // IMDSv1
  CHECK(isEc2Page(getWith(c, kInstanceId, "not-a-token"), 401));  // unknown
  std::string token = putToken(c, "1").msg.body();
  CHECK(getWith(c, kInstanceId, token).status() == 200);
  std::this_thread::sleep_for(1100ms);  // the token's one second runs out
  CHECK(isEc2Page(getWith(c, kInstanceId, token), 401));
  std::string other = putToken(c, "600").msg.body();
  f.mds.clearEc2Tokens();  // as after a stop/start of the instance
  CHECK(isEc2Page(getWith(c, kInstanceId, other), 401));
}

TEST_CASE("fake-mds ec2: IMDSv1 allowed, and the endpoint disabled", "[fake_mds][ec2]") {
  Ec2Fake f({.tokensRequired = false});
  Client c = f.client();
  CHECK(c.get(kInstanceId, false).msg.body() == "i-0123456789abcdef0");
  // A bad token fails even where IMDSv1 would have answered.
  CHECK(isEc2Page(getWith(c, kInstanceId, "stale"), 401));

  f.mds.setEc2Options({.tokensRequired = false, .endpointEnabled = false});
  CHECK(isEc2Page(c.get(kInstanceId, false), 403));
  CHECK(isEc2Page(putToken(c, "60"), 403));

  // The same options through the control API, as e2e scripts set them.
  Response set = c.request(http::verb::put, "/_fake/ec2/options", false,
                           R"({"http_tokens":"required","http_endpoint":"enabled","hop_limit":2})");
  REQUIRE(set.status() == 200);
  CHECK(set.msg.body().find("\"hop_limit\":2") != std::string::npos);
  CHECK(f.mds.ec2Options().tokensRequired);
  CHECK(f.mds.ec2Options().hopLimit == 2);
  CHECK(isEc2Page(c.get(kInstanceId, false), 401));
  CHECK(c.request(http::verb::put, "/_fake/ec2/options", false, R"({"hop_limit":65})").status() ==
        400);
  CHECK(c.request(http::verb::delete_, "/_fake/ec2/tokens", false).status() == 200);
}

TEST_CASE("fake-mds ec2: a status fault answers with EC2's page", "[fake_mds][ec2]") {
  Ec2Fake f;
  f.mds.addFault(guestpulse::fake::statusFault(503, kTokenPath, 1));
  f.mds.addFault(guestpulse::fake::statusFault(429, "/latest/meta-data/", 1));
  Client c = f.client();
  CHECK(isEc2Page(putToken(c, "60"), 503));
  std::string token = putToken(c, "60").msg.body();
  CHECK(isEc2Page(getWith(c, kInstanceId, token), 429));
  CHECK(getWith(c, kInstanceId, token).status() == 200);
}

TEST_CASE("fake-mds ec2: token answers leave with the hop limit as IP TTL", "[fake_mds][ec2]") {
  Ec2Fake f({.hopLimit = 1});
  Client c = f.client();
  REQUIRE(putToken(c, "60").status() == 200);
  // The option as the socket has it after setsockopt, read back by the fake.
  CHECK(f.mds.requests().back().ipTtl == 1);
  f.mds.setEc2Options({.hopLimit = 3});
  Client other = f.client();
  REQUIRE(putToken(other, "60").status() == 200);
  CHECK(f.mds.requests().back().ipTtl == 3);
  // Reads are not limited (only the PUT response is, as on EC2).
  Client plain = f.client();
  REQUIRE(isEc2Page(plain.get(kInstanceId, false), 401));
  CHECK(f.mds.requests().back().ipTtl == 0);
}

#if defined(__linux__)
namespace {

// The TTL of the first TCP segment from `port` whose payload contains `needle`, captured
// with a raw socket (every TCP packet this namespace receives, loopback included); -1
// when none arrives within `timeout`.
int capturedTtl(int rawSocket, std::uint16_t port, const std::string& needle,
                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char packet[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{rawSocket, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    ssize_t n = ::recv(rawSocket, packet, sizeof packet, 0);
    if (n < static_cast<ssize_t>(sizeof(iphdr))) continue;
    const auto* ip = reinterpret_cast<const iphdr*>(packet);
    std::size_t ipLen = ip->ihl * 4u;
    if (n < static_cast<ssize_t>(ipLen + sizeof(tcphdr))) continue;
    const auto* tcp = reinterpret_cast<const tcphdr*>(packet + ipLen);
    if (ntohs(tcp->source) != port) continue;
    std::string payload(packet + ipLen + tcp->doff * 4u, packet + n);
    if (payload.find(needle) != std::string::npos) return ip->ttl;
  }
  return -1;
}

}  // namespace

TEST_CASE("fake-mds ec2: the token answer's packets carry TTL 1 on the wire", "[fake_mds][ec2]") {
  int raw = ::socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
  if (raw < 0) {
    WARN("no raw socket (" << std::strerror(errno)
                           << "; needs CAP_NET_RAW): the wire check is skipped, the socket "
                              "option is checked by the test above");
    return;
  }
  Ec2Fake f({.tokensRequired = false, .hopLimit = 1});
  Client c = f.client();
  REQUIRE(c.get(kInstanceId, false).status() == 200);
  int readTtl = capturedTtl(raw, f.mds.port(), "i-0123456789abcdef0", 2s);
  REQUIRE(putToken(c, "60").status() == 200);
  int tokenTtl = capturedTtl(raw, f.mds.port(), "X-Aws-Ec2-Metadata-Token-Ttl-Seconds", 2s);
  ::close(raw);
  int defaultTtl = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_default_ttl") >> defaultTtl;
  CHECK(readTtl == defaultTtl);  // before any token answer on this connection
  CHECK(defaultTtl > 1);
  CHECK(tokenTtl == 1);
}
#endif
