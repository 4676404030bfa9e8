// Self-test of fake-mds as Azure's IMDS (--provider azure), with raw Beast clients on
// loopback port 0: the Metadata header and api-version rules with Azure's JSON errors,
// route filtering and format=text, the managed identity token endpoint, and faults.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "tests/fake_mds/fake_mds.hpp"
#include "tests/integration/http_test_client.hpp"

namespace {

namespace http = boost::beast::http;
using guestpulse::fake::FakeMds;
using guestpulse::fake::Options;
using guestpulse::fake::Provider;
using guestpulse::testing::Client;
using guestpulse::testing::Response;

constexpr const char* kVersion = "api-version=2021-02-01";
const std::string kToken =
    "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/";

struct Azure {
  FakeMds mds;
  Azure()
      : mds([] {
          Options o;
          o.provider = Provider::Azure;
          return o;
        }()) {
    mds.start();
  }
  Response get(const std::string& target, bool metadataHeader = true, Client::Headers extra = {}) {
    if (metadataHeader) extra.emplace_back("Metadata", "true");
    return Client(mds.port()).request(http::verb::get, target, false, "", extra);
  }
};

boost::json::value body(const Response& r) { return boost::json::parse(r.msg.body()); }

}  // namespace

TEST_CASE("fake-mds azure: Metadata header and api-version, with Azure's errors",
          "[fake_mds][azure]") {
  Azure a;
  Response noHeader = a.get(std::string("/metadata/instance?") + kVersion, false);
  CHECK(noHeader.status() == 400);
  CHECK(body(noHeader).at("error") == "Bad request. Required metadata header not specified");
  CHECK(a.get(std::string("/metadata/instance?") + kVersion, false, {{"Metadata", "True"}})
            .status() == 200);

  for (const char* target : {"/metadata/instance", "/metadata/instance?api-version=2099-01-01"}) {
    Response r = a.get(target);
    CHECK(r.status() == 400);
    auto error = body(r).as_object();
    CHECK(error.at("error").as_string().starts_with("Bad request. api-version is invalid"));
    CHECK(error.at("newest-versions").as_array().size() == 3);
  }
  CHECK(body(a.get("/metadata/versions")).at("apiVersions").as_array().size() > 30);
  CHECK(
      a.get(std::string("/metadata/instance?") + kVersion, true, {{"X-Forwarded-For", "10.1.1.1"}})
          .status() == 400);
  CHECK(Client(a.mds.port())
            .request(http::verb::post, std::string("/metadata/instance?") + kVersion, false, "",
                     {{"Metadata", "true"}})
            .status() == 405);
}

TEST_CASE("fake-mds azure: the instance document, filtered by route", "[fake_mds][azure]") {
  Azure a;
  Response all = a.get(std::string("/metadata/instance?") + kVersion);
  REQUIRE(all.status() == 200);
  CHECK(all.header("Content-Type") == "application/json; charset=utf-8");
  auto doc = body(all);
  CHECK(doc.at("compute").at("location") == "westeurope");
  CHECK(doc.at("compute").at("platformFaultDomain") == "0");  // every primitive a string
  CHECK(doc.at("network")
            .at("interface")
            .at(0)
            .at("ipv4")
            .at("ipAddress")
            .at(0)
            .at("privateIpAddress") == "10.0.0.4");
  CHECK(body(a.get(std::string("/metadata/instance/compute?") + kVersion)).at("vmSize") ==
        "Standard_B1s");
  CHECK(body(a.get(std::string("/metadata/instance/network/interface/0/ipv4?") + kVersion))
            .at("subnet")
            .at(0)
            .at("prefix") == "24");
  // A leaf needs format=text.
  CHECK(a.get(std::string("/metadata/instance/compute/location?") + kVersion).status() == 400);
  Response text = a.get(std::string("/metadata/instance/compute/location?format=text&") + kVersion);
  CHECK(text.status() == 200);
  CHECK(text.msg.body() == "westeurope");
  CHECK(a.get(std::string("/metadata/instance/compute/nope?") + kVersion).status() == 404);
}

TEST_CASE("fake-mds azure: managed identity tokens", "[fake_mds][azure]") {
  Azure a;
  Response token = a.get(kToken);
  REQUIRE(token.status() == 200);
  auto t = body(token).as_object();
  CHECK(t.at("access_token").as_string().starts_with("fake-mds-azure-token-"));
  CHECK(t.at("resource") == "https://management.azure.com/");
  CHECK(t.at("token_type") == "Bearer");
  CHECK(t.at("expires_in") == "86399");
  CHECK(std::stoll(std::string(t.at("expires_on").as_string())) > 1700000000);
  // MSAL asks with a trailing slash.
  CHECK(a.get("/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=r").status() ==
        200);

  Response noHeader = a.get(kToken, false);
  CHECK(noHeader.status() == 400);
  CHECK(body(noHeader).at("error") == "bad_request_102");
  CHECK(a.get("/metadata/identity/oauth2/token?api-version=2018-02-01").status() == 400);
  CHECK(a.get(kToken + "&client_id=someone-else").status() == 400);
  a.mds.removeValue("identity/client-id");  // a VM without a managed identity
  Response none = a.get(kToken);
  CHECK(none.status() == 400);
  CHECK(body(none).at("error_description") == "Identity not found");
}

TEST_CASE("fake-mds azure: 410 and 429 faults answer with JSON", "[fake_mds][azure]") {
  Azure a;
  a.mds.addFault(guestpulse::fake::statusFault(410, "/metadata/instance", 1));
  a.mds.addFault(guestpulse::fake::statusFault(429, "/metadata/identity/", 1));
  Response gone = a.get(std::string("/metadata/instance?") + kVersion);
  CHECK(gone.status() == 410);
  CHECK(body(gone).at("error").as_string().starts_with("Gone"));
  Response throttled = a.get(kToken);
  CHECK(throttled.status() == 429);
  CHECK(body(throttled).at("error") == "Too many requests");
  CHECK(a.get(kToken).status() == 200);
}
