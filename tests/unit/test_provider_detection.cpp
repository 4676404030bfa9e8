// Provider detection: the pure decision from fake DMI values and tagged answers, and the
// Ec2TokenCache's reuse and renewal on a manual clock.

#include <catch2/catch.hpp>

#include "agent/metadata/ec2_token_cache.hpp"
#include "agent/provider/provider_detection.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {

platform::FirmwareIdentity dmi(std::string vendor, std::string product, std::string bios,
                               std::string board = {}, std::string tag = {}) {
  platform::FirmwareIdentity id;
  id.systemManufacturer = std::move(vendor);
  id.productName = std::move(product);
  id.biosVendor = std::move(bios);
  id.boardManufacturer = std::move(board);
  id.chassisAssetTag = std::move(tag);
  id.source = "/fake/sys/class/dmi/id";
  return id;
}

HttpResponse response(int status, HttpHeaders headers, std::string body = {}) {
  return HttpResponse{status, "", std::move(headers), std::move(body)};
}

}  // namespace

TEST_CASE("the firmware names GCE, EC2 and Azure as each cloud writes it", "[provider]") {
  struct Row {
    const char* name;
    platform::FirmwareIdentity id;
    std::optional<Provider> provider;
    const char* why;
  };
  const std::vector<Row> rows = {
      {"GCE", dmi("Google", "Google Compute Engine", "Google", "Google", ""), Provider::Gce,
       "sys_vendor 'Google'"},
      {"GCE by product only", dmi("", "Google Compute Engine", ""), Provider::Gce,
       "product_name 'Google Compute Engine'"},
      {"EC2 Nitro", dmi("Amazon EC2", "m5.large", "Amazon EC2", "Amazon EC2", "Amazon EC2"),
       Provider::Ec2, "sys_vendor 'Amazon EC2'"},
      {"EC2 by board only", dmi("", "", "", "Amazon EC2"), Provider::Ec2,
       "board_vendor 'Amazon EC2'"},
      {"Azure",
       dmi("Microsoft Corporation", "Virtual Machine", "Microsoft Corporation",
           "Microsoft Corporation", "7783-7084-3265-9085-8269-3286-77"),
       Provider::Azure, "chassis_asset_tag '7783-7084-3265-9085-8269-3286-77' (Azure's)"},
      {"case and blanks ignored", dmi("  GOOGLE\t", "", ""), Provider::Gce, "sys_vendor"},
      {"Hyper-V off Azure",
       dmi("Microsoft Corporation", "Virtual Machine", "Microsoft Corporation", "", "1234-5678"),
       std::nullopt, "Hyper-V, but not Azure's asset tag"},
      {"Xen-based EC2 (no Amazon string here)", dmi("Xen", "HVM domU", "Xen"), std::nullopt,
       "firmware names no cloud (sys_vendor 'Xen', product_name 'HVM domU')"},
      {"QEMU", dmi("QEMU", "Standard PC (Q35 + ICH9, 2009)", "SeaBIOS"), std::nullopt,
       "sys_vendor 'QEMU'"},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      FirmwareVerdict verdict = providerFromFirmware(row.id);
      INFO(verdict.why);
      CHECK(verdict.provider == row.provider);
      CHECK_THAT(verdict.why, Catch::Contains(row.why));
    }
  }
  SECTION("nothing readable") {
    platform::FirmwareIdentity none;
    none.error = "cannot read /fake/sys/class/dmi/id/sys_vendor: No such file or directory";
    FirmwareVerdict verdict = providerFromFirmware(none);
    CHECK_FALSE(verdict.provider);
    CHECK_THAT(verdict.why, Catch::Contains("No such file or directory"));
  }
}

TEST_CASE("the firmware decides without any request", "[provider]") {
  ProviderChoice choice = chooseProvider(
      providerFromFirmware(dmi("Amazon EC2", "t3.micro", "Amazon EC2")), std::nullopt);
  CHECK(choice.provider == Provider::Ec2);
  CHECK(choice.detected);
  CHECK(choice.reason == "firmware: sys_vendor 'Amazon EC2'");
}

TEST_CASE("an inconclusive firmware and an endpoint variable: the variable names the provider",
          "[provider]") {
  FirmwareVerdict qemu = providerFromFirmware(dmi("QEMU", "Standard PC", "SeaBIOS"));
  REQUIRE_FALSE(qemu.provider);
  auto gce = providerFromEnvironment(qemu, "127.0.0.1:8080", "");
  REQUIRE(gce);
  CHECK(gce->provider == Provider::Gce);
  CHECK(gce->detected);
  CHECK_THAT(gce->reason, Catch::EndsWith("; GCE_METADATA_HOST is set"));
  auto ec2 = providerFromEnvironment(qemu, "", "http://127.0.0.1:1338");
  REQUIRE(ec2);
  CHECK(ec2->provider == Provider::Ec2);
  CHECK_THAT(ec2->reason, Catch::EndsWith("; AWS_EC2_METADATA_SERVICE_ENDPOINT is set"));
  // Neither, or both: no word; the firmware, when it says, wins.
  CHECK_FALSE(providerFromEnvironment(qemu, "", ""));
  CHECK_FALSE(providerFromEnvironment(qemu, "127.0.0.1:8080", "http://127.0.0.1:1338"));
  CHECK_FALSE(providerFromEnvironment(providerFromFirmware(dmi("Amazon EC2", "t3", "Amazon EC2")),
                                      "127.0.0.1:8080", ""));
}

TEST_CASE("an inconclusive firmware leaves it to exactly one tagged answer", "[provider]") {
  const FirmwareVerdict xen = providerFromFirmware(dmi("Xen", "HVM domU", "Xen"));
  const HttpResponse gce = response(200, {{"Metadata-Flavor", "Google"}}, "instance/\n");
  const HttpResponse ec2 =
      response(200, {{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "60"}}, std::string(56, 'A'));
  const HttpResponse azure = response(200, {}, R"({"apiVersions":["2021-02-01"]})");
  const HttpResponse refused = response(404, {}, "<html>not here</html>");

  TaggedAnswers answers;
  answers.endpoint = "169.254.169.254:80";
  SECTION("EC2's token") {
    answers.ec2 = ec2;
    answers.gce = refused;
    ProviderChoice c = chooseProvider(xen, answers);
    CHECK(c.provider == Provider::Ec2);
    CHECK_THAT(c.reason, Catch::Contains("169.254.169.254:80 answered with an IMDSv2 token"));
    CHECK_THAT(c.reason, Catch::Contains("sys_vendor 'Xen'"));
  }
  SECTION("Azure's versions") {
    answers.azure = azure;
    CHECK(chooseProvider(xen, answers).provider == Provider::Azure);
  }
  SECTION("GCE's flavor") {
    answers.gce = gce;
    CHECK(chooseProvider(xen, answers).provider == Provider::Gce);
  }
  SECTION("no answer: GCE assumed, and said") {
    ProviderChoice c = chooseProvider(xen, answers);
    CHECK(c.provider == Provider::Gce);
    CHECK_THAT(c.reason, Catch::Contains("gce assumed"));
  }
  SECTION("answers that are not the provider's do not count") {
    answers.ec2 = response(200, {}, "token");  // no TTL header
    answers.azure = response(400, {}, R"({"error":"Bad request"})");
    answers.gce = response(200, {}, "instance/\n");  // no Metadata-Flavor
    CHECK_THAT(chooseProvider(xen, answers).reason, Catch::Contains("gce assumed"));
  }
  SECTION("two kinds of answers: not decided") {
    answers.ec2 = ec2;
    answers.azure = azure;
    ProviderChoice c = chooseProvider(xen, answers);
    CHECK(c.provider == Provider::Gce);
    CHECK_THAT(c.reason, Catch::Contains("several providers"));
  }
}

TEST_CASE("a configured provider is taken as it is", "[provider]") {
  Config config;
  config.provider = Provider::Azure;
  ProviderChoice c = configuredProvider(config);
  CHECK(c.provider == Provider::Azure);
  CHECK_FALSE(c.detected);
  CHECK(c.reason == "provider: azure configured");
  config.provider = Provider::Auto;
  CHECK(configuredProvider(config).provider == Provider::Gce);
}

TEST_CASE("Ec2TokenCache: reused until shortly before expiry, then renewed", "[provider][ec2]") {
  Ec2TokenCache cache;
  const SteadyTime t0{};
  CHECK_FALSE(cache.token(t0));
  cache.store("tok-1", 6h, t0);
  CHECK(cache.token(t0) == std::optional<std::string>("tok-1"));
  CHECK(cache.token(t0 + 5h + 58min) == std::optional<std::string>("tok-1"));
  CHECK_FALSE(cache.token(t0 + 5h + 59min));  // one minute before expiry: renew
  // A short token is renewed a quarter of its life early.
  cache.store("tok-2", 20s, t0);
  CHECK(cache.token(t0 + 14s));
  CHECK_FALSE(cache.token(t0 + 15s));
  // A 401 forgets it at once.
  cache.store("tok-3", 6h, t0);
  cache.forget();
  CHECK_FALSE(cache.token(t0 + 1s));
}
