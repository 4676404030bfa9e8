// Self-test of fake-mds's GCE behaviour beyond the basics of test_fake_mds.cpp: value
// types in alt=json and recursive=true, alt=text, guest attributes off by default, the
// service-account and workload-certificate endpoints, and path normalisation.

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "tests/fake_mds/fake_mds.hpp"
#include "tests/integration/http_test_client.hpp"

namespace {

namespace http = boost::beast::http;
using guestpulse::fake::FakeMds;
using guestpulse::testing::Client;
using guestpulse::testing::Response;

constexpr const char* kV1 = "/computeMetadata/v1/";
const std::string kGuestKey = "/computeMetadata/v1/instance/guest-attributes/guestpulse/status";

struct Gce {
  FakeMds mds;
  Gce() { mds.start(); }
  Client client() { return Client(mds.port()); }
  Response get(const std::string& rel) { return client().get(kV1 + rel); }
  boost::json::value json(const std::string& rel) {
    Response r = get(rel);
    REQUIRE(r.status() == 200);
    REQUIRE(r.header("Content-Type") == "application/json");
    return boost::json::parse(r.msg.body());
  }
};

}  // namespace

TEST_CASE("fake-mds gce: typed values in recursive=true and alt=json", "[fake_mds][gce]") {
  Gce g;
  g.mds.setValue("instance/tags", R"(["http-server","db-client"])");
  auto instance = g.json("instance/?recursive=true").as_object();
  CHECK(instance.at("id").is_number());  // a number, exact: no double on the way
  CHECK(instance.at("id").to_number<std::uint64_t>() == 4520031799277581759ULL);
  auto nic = instance.at("networkInterfaces").at(0).as_object();
  CHECK(nic.at("mtu") == 1460);
  CHECK(nic.at("dnsServers") == boost::json::array{"169.254.169.254"});
  CHECK(instance.at("tags") == boost::json::array{"http-server", "db-client"});
  auto accounts = instance.at("serviceAccounts").as_object();
  CHECK(accounts.at("default").at("scopes") ==
        boost::json::array{"https://www.googleapis.com/auth/cloud-platform"});
  CHECK(accounts.at("default").at("aliases") == boost::json::array{"default"});
  // Accounts are keyed by email, not camel-cased; no token in the tree.
  CHECK(accounts.contains("123456789012-compute@developer.gserviceaccount.com"));
  CHECK_FALSE(accounts.at("default").as_object().contains("token"));
  CHECK(instance.at("disks").at(0).at("index") == 0);
  CHECK(g.json("project/?recursive=true").at("numericProjectId") == 123456789012LL);

  CHECK(g.json("instance/id?alt=json").to_number<std::uint64_t>() == 4520031799277581759ULL);
  CHECK(g.json("instance/tags?alt=json") == boost::json::array{"http-server", "db-client"});
  CHECK(g.json("instance/service-accounts/default/scopes?alt=json").is_array());
  CHECK(g.json("instance/name?alt=json") == "guestpulse-test");
  // Plain text stays as GCE sends it: tags as JSON, scopes one a line.
  CHECK(g.get("instance/tags").msg.body() == R"(["http-server","db-client"])");
  CHECK(g.get("instance/service-accounts/default/scopes").msg.body() ==
        "https://www.googleapis.com/auth/cloud-platform\n");
}

TEST_CASE("fake-mds gce: alt=text, alone and with recursive=true", "[fake_mds][gce]") {
  Gce g;
  g.mds.setValue("instance/tags", R"(["http-server","db-client"])");
  CHECK(g.get("instance/tags?alt=text").msg.body() == "http-server\ndb-client");
  std::string disks = g.get("instance/disks/?recursive=true&alt=text").msg.body();
  CHECK(disks ==
        "0/device-name guestpulse-test\n0/index 0\n0/interface SCSI\n0/mode READ_WRITE\n"
        "0/type PERSISTENT-BALANCED\n");
  std::string all = g.get("instance/?recursive=true&alt=text").msg.body();
  CHECK(all.find("network-interfaces/0/mtu 1460\n") != std::string::npos);
  CHECK(all.find("tags/1 db-client\n") != std::string::npos);
  CHECK(all.find("service-accounts/default/scopes/0 https://") != std::string::npos);
}

TEST_CASE("fake-mds gce: guest attributes answer 403 unless enable-guest-attributes is TRUE",
          "[fake_mds][gce]") {
  Gce g;
  Client c = g.client();
  Response off = c.request(http::verb::put, kGuestKey, true, "OK");
  CHECK(off.status() == 403);
  CHECK(off.msg.body().find("Guest attributes endpoint access is disabled.") != std::string::npos);
  CHECK(c.get(kGuestKey).status() == 403);
  CHECK(g.mds.guestAttributes().empty());

  g.mds.setValue("project/attributes/enable-guest-attributes", "true");  // project-wide
  CHECK(c.request(http::verb::put, kGuestKey, true, "OK").status() == 200);
  g.mds.setValue("instance/attributes/enable-guest-attributes", "FALSE");  // instance wins
  CHECK(c.request(http::verb::put, kGuestKey, true, "DEGRADED").status() == 403);
  g.mds.setValue("instance/attributes/enable-guest-attributes", "TRUE");
  CHECK(c.request(http::verb::put, kGuestKey, true, "DEGRADED").status() == 200);
  CHECK(c.get(kGuestKey).msg.body() == "DEGRADED");
}

TEST_CASE("fake-mds gce: service account token, email, scopes and identity", "[fake_mds][gce]") {
  Gce g;
  CHECK(g.get("instance/service-accounts/").msg.body() ==
        "123456789012-compute@developer.gserviceaccount.com/\ndefault/\n");
  CHECK(g.get("instance/service-accounts/default/").msg.body() ==
        "aliases\nemail\nidentity\nscopes\ntoken\n");
  auto token = g.json("instance/service-accounts/default/token").as_object();
  CHECK(token.at("access_token").as_string().starts_with("ya29."));
  CHECK(token.at("expires_in") == 3599);
  CHECK(token.at("token_type") == "Bearer");
  CHECK(g.get("instance/service-accounts/default/email").msg.body() ==
        "123456789012-compute@developer.gserviceaccount.com");
  Response jwt = g.get("instance/service-accounts/default/identity?audience=https://x.example");
  CHECK(jwt.status() == 200);
  CHECK(std::count(jwt.msg.body().begin(), jwt.msg.body().end(), '.') == 2);
  CHECK(g.get("instance/service-accounts/default/identity").status() == 400);
  CHECK(g.get("instance/service-accounts/default/token?wait_for_change=true").status() == 400);
}

TEST_CASE("fake-mds gce: workload-certificate config-status 404, 412 and 200", "[fake_mds][gce]") {
  Gce g;
  const std::string status = "instance/gce-workload-certificates/config-status";
  g.mds.setValue(status, R"({"partnerMetadataConfigsErrors":{}})");
  CHECK(g.get(status).status() == 404);  // the feature off: nothing there
  g.mds.setValue("instance/attributes/enable-workload-certificate", "true");
  CHECK(g.get("instance/gce-workload-certificates/").msg.body() ==
        "config-status\ntrust-anchors\nworkload-identities\n");
  Response ok = g.get(status);
  CHECK(ok.status() == 200);
  CHECK(ok.header("Content-Type") == "application/json");
  CHECK(ok.msg.body() == R"({"partnerMetadataConfigsErrors":{}})");

  g.mds.setValue(status, "412 workload identity pool not found");
  Response pending = g.get(status);
  CHECK(pending.status() == 412);
  CHECK(pending.msg.body().find("Error 412 (Precondition Failed)") != std::string::npos);
  CHECK(pending.msg.body().find("workload identity pool not found") != std::string::npos);

  g.mds.removeValue(status);  // enabled, but no configuration for this VM
  CHECK(g.get(status).status() == 404);
  CHECK(g.get("instance/gce-workload-certificates/trust-anchors").status() == 404);
}

TEST_CASE("fake-mds gce: doubled slashes, universe, and waits GCE refuses", "[fake_mds][gce]") {
  Gce g;
  Client c = g.client();
  CHECK(c.get("/computeMetadata/v1//instance//id").msg.body() == "4520031799277581759");
  CHECK(g.get("universe/universe-domain").msg.body() == "googleapis.com");
  CHECK(g.get("instance/?wait_for_change=true").status() == 400);  // a listing
  CHECK(c.get("/_fake/provider", false).msg.body().find("\"gce\"") != std::string::npos);
}
