// Self-test of the fake metadata server (tests/fake_mds), with raw Beast clients on
// loopback port 0 — never the agent's own client, which the fake exists to test.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <regex>
#include <string>
#include <thread>

#include "tests/fake_mds/fake_mds.hpp"
#include "tests/integration/http_test_client.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::system::error_code;
using guestpulse::fake::FakeMds;
using guestpulse::testing::Client;
using guestpulse::testing::Response;

guestpulse::fake::Options withGuestAttributes() {
  guestpulse::fake::Options options;
  options.values = guestpulse::fake::guestAttributesEnabled();
  return options;
}
using namespace std::chrono_literals;

constexpr const char* kId = "/computeMetadata/v1/instance/id";

struct Running {
  // Guest attributes on, as most of these tests use them; a bare FakeMds has them off.
  FakeMds mds{withGuestAttributes()};
  Running() { mds.start(); }
  Client client(std::chrono::milliseconds timeout = 3s) { return Client(mds.port(), timeout); }
};

boost::json::value parseJson(const std::string& text) { return boost::json::parse(text); }

bool connectionDropped(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == http::error::partial_message;
}

}  // namespace

TEST_CASE_METHOD(Running, "fake-mds requires the Metadata-Flavor header", "[fake_mds]") {
  Client c = client();
  Response without = c.get(kId, false);
  REQUIRE(!without.ec);
  CHECK(without.status() == 403);
  CHECK(without.msg.body().find("Missing Metadata-Flavor:Google header") != std::string::npos);
  CHECK(without.header("Content-Type").starts_with("text/html"));

  Response wrongValue = c.request(http::verb::get, kId, false, {}, {{"metadata-flavor", "google"}});
  CHECK(wrongValue.status() == 403);

  // Header names are case-insensitive; the value is not.
  Response lower = c.request(http::verb::get, kId, false, {}, {{"metadata-flavor", "Google"}});
  CHECK(lower.status() == 200);

  Response proxied = c.request(http::verb::get, kId, true, {}, {{"X-Forwarded-For", "10.0.0.1"}});
  CHECK(proxied.status() == 403);
}

TEST_CASE_METHOD(Running, "fake-mds answers with GCE's headers", "[fake_mds]") {
  Client c = client();
  Response r = c.get(kId);
  REQUIRE(!r.ec);
  CHECK(r.status() == 200);
  CHECK(r.msg.body() == *mds.value("instance/id"));
  CHECK(r.header("Metadata-Flavor") == "Google");
  CHECK(r.header("Server") == "Metadata Server for VM");
  CHECK(r.header("Content-Type") == "application/text");
  CHECK(std::regex_match(r.header("ETag"), std::regex("[0-9a-f]{16}")));
  CHECK(r.header("X-XSS-Protection") == "0");
  CHECK(r.header("X-Frame-Options") == "SAMEORIGIN");
  CHECK(r.msg.keep_alive());

  // Same connection (keep-alive), other well-known paths.
  CHECK(c.get("/computeMetadata/v1/instance/zone").msg.body() ==
        "projects/123456789012/zones/us-central1-a");
  CHECK(c.get("/computeMetadata/v1/project/numeric-project-id").msg.body() == "123456789012");
  CHECK(c.get("/computeMetadata/v1/project/project-id").status() == 200);
  CHECK(c.get("/computeMetadata/v1/instance/name").status() == 200);
  CHECK(c.get("/computeMetadata/v1/instance/hostname").status() == 200);
  // A forbidden answer still carries the flavor header: it comes from the real server.
  CHECK(c.get(kId, false).header("Metadata-Flavor") == "Google");
}

TEST_CASE_METHOD(Running, "fake-mds serves directories, redirects and JSON", "[fake_mds]") {
  mds.setValue("instance/attributes/enable-workload-certificate", "true");
  Client c = client();
  Response listing = c.get("/computeMetadata/v1/instance/attributes/");
  CHECK(listing.status() == 200);
  CHECK(listing.msg.body().find("enable-workload-certificate\n") != std::string::npos);
  CHECK(c.get("/computeMetadata/v1/instance/").msg.body().find("attributes/\n") !=
        std::string::npos);

  Response redirect = c.get("/computeMetadata/v1/instance/attributes");
  CHECK(redirect.status() == 301);
  CHECK(redirect.header("Location") ==
        "http://metadata.google.internal/computeMetadata/v1/instance/attributes/");

  Response recursive = c.get("/computeMetadata/v1/instance/?recursive=true");
  CHECK(recursive.status() == 200);
  CHECK(recursive.header("Content-Type") == "application/json");
  auto tree = parseJson(recursive.msg.body());
  CHECK(tree.at("attributes").at("enable-workload-certificate") == "true");
  CHECK(tree.at("machineType").is_string());
  CHECK(tree.at("networkInterfaces").at(0).at("ip") == "10.128.0.2");

  Response leafJson = c.get("/computeMetadata/v1/project/project-id?alt=json");
  CHECK(leafJson.header("Content-Type") == "application/json");
  CHECK(parseJson(leafJson.msg.body()) == "guestpulse-test");

  CHECK(c.get("/computeMetadata/v1/instance/gce-workload-certificates/config-status").status() ==
        404);
}

TEST_CASE_METHOD(Running, "fake-mds round-trips guest attributes", "[fake_mds]") {
  Client c = client();
  const std::string key = "/computeMetadata/v1/instance/guest-attributes/guestpulse/status";
  CHECK(c.get(key).status() == 404);

  Response put = c.request(http::verb::put, key, true, "DEGRADED");
  CHECK(put.status() == 200);
  CHECK(put.msg.body().empty());
  CHECK(put.header("Metadata-Flavor") == "Google");

  Response got = c.get(key);
  CHECK(got.status() == 200);
  CHECK(got.msg.body() == "DEGRADED");
  CHECK(c.get("/computeMetadata/v1/instance/guest-attributes/guestpulse/").msg.body() ==
        "status\n");
  CHECK(mds.guestAttributes() ==
        std::map<std::string, std::string>{{"guestpulse/status", "DEGRADED"}});

  // A PUT without the flavor header is refused like any other request.
  CHECK(c.request(http::verb::put, key, false, "OK").status() == 403);
  CHECK(c.request(http::verb::post, key, true, "OK").status() == 405);
  CHECK(c.get(key).msg.body() == "DEGRADED");
}

TEST_CASE_METHOD(Running, "fake-mds answers an unknown path with Google's 404 page", "[fake_mds]") {
  Client c = client();
  Response r = c.get("/computeMetadata/v1/instance/no-such-thing");
  CHECK(r.status() == 404);
  CHECK(r.msg.body().starts_with("<!DOCTYPE html>"));
  CHECK(r.msg.body().find("Error 404 (Not Found)!!1") != std::string::npos);
  CHECK(r.msg.body().find("<code>/computeMetadata/v1/instance/no-such-thing</code>") !=
        std::string::npos);
  CHECK(r.header("Metadata-Flavor") == "Google");
  CHECK(c.get("/nothing-here").status() == 404);
}

TEST_CASE_METHOD(Running, "fake-mds rejects a malformed request with 400 and closes",
                 "[fake_mds]") {
  const char* bad = GENERATE(
      "GET /computeMetadata/v1/instance/id HTTP/1.1\r\nHost: x\r\nMetadata-Flavor: Google\r\n"
      "this line has no colon\r\n\r\n",
      "GET /computeMetadata/v1/instance/id HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n");
  Client c = client();
  Response r = c.sendRaw(bad);
  REQUIRE(!r.ec);
  CHECK(r.status() == 400);
  CHECK(r.msg.body().find("Error 400 (Bad Request)!!1") != std::string::npos);
  CHECK_FALSE(r.msg.keep_alive());
  CHECK(connectionDropped(c.read().ec));
  auto log = mds.requests();
  REQUIRE(log.size() == 1);
  CHECK(log[0].status == 400);
  CHECK(log[0].fault == "malformed");
}

TEST_CASE_METHOD(Running, "fake-mds honours a status fault's count", "[fake_mds]") {
  mds.addFault(guestpulse::fake::statusFault(503, "/computeMetadata/v1/", 2));
  Client c = client();
  CHECK(c.get(kId).status() == 503);
  Response second = c.get("/computeMetadata/v1/instance/zone");
  CHECK(second.status() == 503);
  CHECK(second.msg.body().find("Error 503 (Service Unavailable)!!1") != std::string::npos);
  CHECK(c.get(kId).status() == 200);
  CHECK(mds.faults().empty());

  // Method and exact-path matching; first matching rule wins.
  auto rule = guestpulse::fake::statusFault(429, kId, -1);
  rule.exactPath = true;
  rule.method = "get";
  mds.addFault(rule);
  mds.addFault(guestpulse::fake::statusFault(500, "/computeMetadata/v1/instance/", 1));
  CHECK(c.get(kId).status() == 429);
  CHECK(c.get(kId).status() == 429);
  CHECK(c.get("/computeMetadata/v1/instance/idx").status() == 500);
  CHECK(c.get("/computeMetadata/v1/instance/idx").status() == 404);
  REQUIRE(mds.faults().size() == 1);
  CHECK(mds.faults()[0].count == -1);
  mds.clearFaults();
  CHECK(c.get(kId).status() == 200);

  auto log = mds.requests();
  REQUIRE(log.size() == 8);
  CHECK(log[0].fault == "status");
  CHECK(log[2].fault.empty());
}

TEST_CASE_METHOD(Running, "fake-mds no_flavor fault drops the flavor header", "[fake_mds]") {
  mds.addFault(guestpulse::fake::noFlavorFault("/", 1));
  Client c = client();
  Response proxied = c.get(kId);
  CHECK(proxied.status() == 200);
  CHECK_FALSE(proxied.has("Metadata-Flavor"));
  CHECK(proxied.msg.body() == *mds.value("instance/id"));
  CHECK(c.get(kId).header("Metadata-Flavor") == "Google");
}

TEST_CASE_METHOD(Running, "fake-mds reset fault aborts the connection", "[fake_mds]") {
  mds.addFault(guestpulse::fake::resetFault("/computeMetadata/v1/", 1));
  Client c = client();
  Response r = c.get(kId);
  CHECK(connectionDropped(r.ec));
  CHECK(r.ec == asio::error::connection_reset);
  auto log = mds.requests();
  REQUIRE(log.size() == 1);
  CHECK(log[0].status == 0);
  CHECK(log[0].fault == "reset");
  CHECK(client().get(kId).status() == 200);
}

TEST_CASE_METHOD(Running, "fake-mds hang fault never answers", "[fake_mds]") {
  mds.addFault(guestpulse::fake::hangFault(kId, 1));
  Client hung = client(300ms);
  auto started = std::chrono::steady_clock::now();
  Response r = hung.get(kId);
  CHECK(r.ec == beast::error::timeout);
  CHECK(std::chrono::steady_clock::now() - started >= 300ms);
  // Others are still served while that connection hangs.
  CHECK(client().get(kId).status() == 200);
  auto log = mds.requests();
  REQUIRE(log.size() == 2);
  CHECK(log[0].status == 0);
  CHECK(log[0].fault == "hang");
}

TEST_CASE_METHOD(Running, "fake-mds latency fault delays the answer", "[fake_mds]") {
  mds.addFault(guestpulse::fake::latencyFault(200ms, kId, 1));
  Client c = client();
  auto started = std::chrono::steady_clock::now();
  Response slow = c.get(kId);
  auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(slow.status() == 200);
  CHECK(elapsed >= 200ms);
  CHECK(mds.requests().at(0).durationMs >= 200.0);

  // Latency combines with a status.
  auto rule = guestpulse::fake::statusFault(503, kId, 1);
  rule.latency = 50ms;
  mds.addFault(rule);
  started = std::chrono::steady_clock::now();
  CHECK(c.get(kId).status() == 503);
  CHECK(std::chrono::steady_clock::now() - started >= 50ms);
}

TEST_CASE_METHOD(Running, "fake-mds wait_for_change wakes on a PUT", "[fake_mds]") {
  const std::string key = "/computeMetadata/v1/instance/guest-attributes/ns/k";
  Client c = client();
  REQUIRE(c.request(http::verb::put, key, true, "one").status() == 200);
  const std::string etag = c.get(key).header("ETag");

  SECTION("with last_etag") {
    auto waiting = std::async(std::launch::async, [&] {
      return client().get(key + "?wait_for_change=true&timeout_sec=5&last_etag=" + etag);
    });
    // Wait until the fake holds the request, so the PUT really is the change it sees.
    REQUIRE(mds.waitUntil([&] { return mds.waitingRequests() == 1; }, 2s));
    auto put = std::chrono::steady_clock::now();
    CHECK(c.request(http::verb::put, key, true, "two").status() == 200);
    Response woke = waiting.get();
    CHECK(std::chrono::steady_clock::now() - put < 3s);  // well before timeout_sec=5
    CHECK(woke.status() == 200);
    CHECK(woke.msg.body() == "two");
    CHECK(woke.header("ETag") != etag);
  }
  SECTION("without last_etag, woken through the C++ API") {
    auto waiting = std::async(std::launch::async, [&] {
      return client().get(key + "?wait_for_change=true&timeout_sec=5");
    });
    // Without last_etag the baseline is whatever the value is when the fake parks the
    // request, so change it only once it is parked.
    REQUIRE(mds.waitUntil([&] { return mds.waitingRequests() == 1; }, 2s));
    mds.setValue("instance/guest-attributes/ns/k", "three");
    CHECK(waiting.get().msg.body() == "three");
    CHECK(mds.waitingRequests() == 0);
  }
  SECTION("a stale last_etag answers at once") {
    Response r = c.get(key + "?wait_for_change=true&last_etag=0000000000000000");
    CHECK(r.msg.body() == "one");
  }
  SECTION("timeout_sec answers the unchanged value") {
    auto started = std::chrono::steady_clock::now();
    Response r = c.get(key + "?wait_for_change=true&timeout_sec=1&last_etag=" + etag);
    CHECK(std::chrono::steady_clock::now() - started >= 1s);
    CHECK(r.msg.body() == "one");
    CHECK(r.header("ETag") == etag);
  }
}

TEST_CASE_METHOD(Running, "fake-mds logs requests in order", "[fake_mds]") {
  Client c = client();
  c.get(kId);
  c.get(kId, false);
  c.request(http::verb::put, "/computeMetadata/v1/instance/guest-attributes/a/b", true, "v");
  c.get("/_fake/requests");  // control requests are not logged
  auto log = mds.requests();
  REQUIRE(log.size() == 3);
  CHECK(log[0].method == "GET");
  CHECK(log[0].target == kId);
  CHECK(log[0].status == 200);
  CHECK(log[0].flavor);
  CHECK(log[1].status == 403);
  CHECK_FALSE(log[1].flavor);
  CHECK(log[2].method == "PUT");
  CHECK(log[2].body == "v");
  for (std::size_t i = 1; i < log.size(); ++i) {
    CHECK(log[i].seq == log[i - 1].seq + 1);
    CHECK(log[i].tMs >= log[i - 1].tMs);
  }
  std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  CHECK(std::regex_match(log[0].wall, rfc3339));

  auto json = parseJson(c.get("/_fake/requests", false).msg.body()).as_array();
  REQUIRE(json.size() == 3);
  CHECK(json[2].at("method") == "PUT");
  CHECK(json[2].at("target") == "/computeMetadata/v1/instance/guest-attributes/a/b");
  CHECK(json[2].at("status") == 200);
  CHECK(json[2].at("flavor") == true);
  CHECK(json[2].at("body") == "v");
  CHECK(json[1].at("t_ms").to_number<double>() >= json[0].at("t_ms").to_number<double>());
  CHECK(parseJson(c.get("/_fake/requests?since=2").msg.body()).as_array().size() == 1);

  CHECK(c.request(http::verb::delete_, "/_fake/requests").status() == 200);
  CHECK(mds.requests().empty());
  c.get(kId);
  CHECK(mds.requests().at(0).seq == 4);  // sequence numbers are never reused
}

TEST_CASE_METHOD(Running, "fake-mds control API over HTTP", "[fake_mds]") {
  Client c = client();
  auto post = [&](const std::string& json) {
    return c.request(http::verb::post, "/_fake/faults", false, json);
  };

  Response added = post(R"({"path":"/computeMetadata/v1/","method":"GET","status":503,"count":2})");
  REQUIRE(added.status() == 200);
  CHECK(parseJson(added.msg.body()).at("id").is_number());
  auto listed = parseJson(c.get("/_fake/faults", false).msg.body()).as_array();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("status") == 503);
  CHECK(listed[0].at("count") == 2);
  CHECK(c.get(kId).status() == 503);
  CHECK(c.get(kId).status() == 503);
  CHECK(c.get(kId).status() == 200);

  CHECK(post(R"({"no_flavor":true})").status() == 200);
  CHECK_FALSE(c.get(kId).has("Metadata-Flavor"));
  CHECK(c.request(http::verb::delete_, "/_fake/faults", false).status() == 200);
  CHECK(c.get(kId).has("Metadata-Flavor"));

  CHECK(post(R"({"latency":5})").status() == 400);  // typo: unknown field
  CHECK(post(R"({"path":"/x"})").status() == 400);  // does nothing
  CHECK(post("not json").status() == 400);
  CHECK(post(R"([{"reset":true,"count":1},{"hang":true,"count":1}])").status() == 200);
  CHECK(mds.faults().size() == 2);
  mds.clearFaults();

  const std::string cert = "/computeMetadata/v1/instance/attributes/enable-workload-certificate";
  CHECK(c.get(cert).status() == 404);
  CHECK(c.request(http::verb::put,
                  "/_fake/metadata/instance/attributes/enable-workload-certificate", false, "true")
            .status() == 200);
  CHECK(c.get(cert).msg.body() == "true");
  CHECK(mds.value("instance/attributes/enable-workload-certificate") == "true");
  CHECK(c.request(http::verb::delete_,
                  "/_fake/metadata/instance/attributes/enable-workload-certificate", false)
            .status() == 200);
  CHECK(c.get(cert).status() == 404);

  c.request(http::verb::put, "/computeMetadata/v1/instance/guest-attributes/guestpulse/heartbeat",
            true, "2026-11-22T22:00:00Z");
  auto attrs = parseJson(c.get("/_fake/guest-attributes", false).msg.body());
  CHECK(attrs.at("guestpulse/heartbeat") == "2026-11-22T22:00:00Z");
  CHECK(c.get("/_fake/nope", false).status() == 404);
  // Control requests never show up in the log.
  for (const auto& r : mds.requests()) CHECK_FALSE(r.target.starts_with("/_fake"));
}

TEST_CASE("fake-mds serves many concurrent connections", "[fake_mds]") {
  FakeMds mds;
  mds.start();
  mds.addFault(guestpulse::fake::latencyFault(250ms, kId));
  constexpr int kClients = 32;
  std::vector<std::future<int>> results;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kClients; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      Client c(mds.port());
      return c.get(kId).status();
    }));
  }
  for (auto& r : results) CHECK(r.get() == 200);
  // Delays overlap: a serialising server would need kClients × 250 ms = 8 s.
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  CHECK(mds.requests().size() == kClients);
}

TEST_CASE("fake-mds stops promptly with requests in flight", "[fake_mds]") {
  FakeMds mds;
  mds.start();
  mds.addFault(guestpulse::fake::hangFault(kId, 1));
  auto hung = std::async(std::launch::async, [&] { return Client(mds.port(), 10s).get(kId); });
  auto waiting = std::async(std::launch::async, [&] {
    return Client(mds.port(), 10s).get("/computeMetadata/v1/instance/name?wait_for_change=true");
  });
  REQUIRE(
      mds.waitUntil([&] { return mds.requests().size() == 2 && mds.waitingRequests() == 1; }, 2s));
  auto started = std::chrono::steady_clock::now();
  mds.stop();
  // Far below the clients' 10 s: the stop did not wait for them.
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(connectionDropped(hung.get().ec));
  CHECK(connectionDropped(waiting.get().ec));
  mds.stop();  // idempotent
}
