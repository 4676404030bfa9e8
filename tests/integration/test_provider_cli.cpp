// `provider: auto` in the real binary, on fake DMI data (a sysfs root made by the test,
// never this machine's) and fake-mds playing each provider: `check --json` and
// `config show` name the provider and why, and the probe that runs is that provider's.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "tests/integration/harness.hpp"

using namespace guestpulse;
using namespace guestpulse::testing;
using namespace std::chrono_literals;

namespace {

void fakeDmi(const TempDir& dir, const std::map<std::string, std::string>& fields) {
  std::filesystem::create_directories(dir / "sys/class/dmi/id");
  for (const auto& [name, value] : fields) writeFile(dir / "sys/class/dmi/id" / name, value + "\n");
}

// provider: auto, the fake's endpoint, the fake sysfs root.
std::string autoYaml(const TempDir& dir, const fake::FakeMds& mds) {
  return "provider: auto\n"
         "detection: { sysfs_root: " +
         (dir / "sys").string() +
         ", timeout: 500ms }\n"
         "metadata: { endpoint: http://" +
         mds.endpoint() +
         ", timeout: 500ms }\n"
         "retry: { initial: 100ms, max: 1s, multiplier: 2, attempts: 3 }\n"
         "report:\n  serial: { device: " +
         (dir / "serial.log").string() + " }\n  state_dir: " + (dir / "state").string() + "\n";
}

fake::Options provider(fake::Provider p) {
  fake::Options options;
  options.provider = p;
  return options;
}

boost::json::object checkJson(const Ran& ran) {
  INFO(ran.out << ran.err);
  return boost::json::parse(ran.out).as_object();
}

std::string text(const boost::json::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

}  // namespace

TEST_CASE("provider auto: the firmware says EC2, and the EC2 probe runs", "[provider][cli]") {
  fake::FakeMds mds(provider(fake::Provider::Ec2));
  mds.start();
  TempDir dir;
  fakeDmi(
      dir,
      {{"sys_vendor", "Amazon EC2"}, {"product_name", "m5.large"}, {"bios_vendor", "Amazon EC2"}});
  writeFile(dir / "g.yaml", autoYaml(dir, mds));
  // GCE's variable must not move an EC2 agent.
  Ran ran = runBinary(dir, {"check", "--json", "-c", (dir / "g.yaml").string()},
                      {"GCE_METADATA_HOST=127.0.0.1:9"});
  auto json = checkJson(ran);
  CHECK(ran.exitCode == 0);
  CHECK(text(json, "provider") == "ec2");
  CHECK(text(json, "provider_reason") == "firmware: sys_vendor 'Amazon EC2'");
  auto probes = json["probes"].as_array();
  REQUIRE(probes.size() == 1);  // no GCE-only probes off GCE
  CHECK(text(probes[0].as_object(), "name") == "metadata");
  CHECK(text(probes[0].as_object(), "state") == "OK");
  // Detected from the firmware alone: nothing but the probe's token and GET reached IMDS.
  for (const auto& r : mds.requests())
    CHECK((r.target == "/latest/api/token" || r.target == "/latest/meta-data/instance-id"));

  Ran shown = runBinary(dir, {"config", "show", "-c", (dir / "g.yaml").string()});
  CHECK(shown.exitCode == 0);
  CHECK_THAT(shown.out,
             Catch::Contains("# provider in use: ec2 (firmware: sys_vendor 'Amazon EC2')"));
  CHECK_THAT(shown.out, Catch::Contains("\nprovider: auto\n"));
}

TEST_CASE("provider auto: Azure's asset tag picks Azure, and Azure's probe runs",
          "[provider][cli]") {
  fake::FakeMds mds(provider(fake::Provider::Azure));
  mds.start();
  TempDir dir;
  fakeDmi(dir, {{"sys_vendor", "Microsoft Corporation"},
                {"product_name", "Virtual Machine"},
                {"chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77"}});
  writeFile(dir / "g.yaml", autoYaml(dir, mds));
  mds.addFault(fake::statusFault(429, "/metadata/instance"));
  Ran ran = runBinary(dir, {"check", "--json", "-c", (dir / "g.yaml").string()});
  auto json = checkJson(ran);
  CHECK(ran.exitCode == 1);
  CHECK(text(json, "provider") == "azure");
  auto row = json["probes"].as_array()[0].as_object();
  CHECK(text(row, "cause") == "azure_imds.throttled");
}

TEST_CASE("provider auto: GCE_METADATA_HOST names GCE and no provider is asked",
          "[provider][cli]") {
  // No endpoint in the config: a tagged request for EC2 or Azure would go to their default
  // address, which the variable says is not where the metadata server is.
  fake::FakeMds mds(withGuestAttributes());
  mds.start();
  TempDir dir;
  fakeDmi(dir, {{"sys_vendor", "QEMU"}, {"product_name", "Standard PC (Q35 + ICH9, 2009)"}});
  writeFile(dir / "g.yaml", "detection: { sysfs_root: " + (dir / "sys").string() +
                                " }\nprobes: { workload_certs: { enabled: false }, mds_mtls: "
                                "{ enabled: false }, service_proxy: { enabled: false } }\n");
  Ran ran = runBinary(dir, {"check", "--json", "-c", (dir / "g.yaml").string()},
                      {"GCE_METADATA_HOST=" + mds.endpoint()});
  auto json = checkJson(ran);
  INFO(ran.out << ran.err);
  CHECK(ran.exitCode == 0);
  CHECK(text(json, "provider") == "gce");
  CHECK_THAT(text(json, "provider_reason"), Catch::EndsWith("; GCE_METADATA_HOST is set"));
  for (const auto& r : mds.requests()) CHECK(r.target != "/computeMetadata/v1/");
}

TEST_CASE("provider auto: an inconclusive firmware is settled by one tagged request each",
          "[provider][cli]") {
  TempDir dir;
  fakeDmi(dir, {{"sys_vendor", "QEMU"}, {"product_name", "Standard PC (Q35 + ICH9, 2009)"}});
  for (fake::Provider p : {fake::Provider::Ec2, fake::Provider::Azure, fake::Provider::Gce}) {
    fake::FakeMds mds(provider(p));
    mds.start();
    writeFile(dir / "g.yaml", autoYaml(dir, mds));
    Ran ran = runBinary(dir, {"check", "--json", "-c", (dir / "g.yaml").string()});
    auto json = checkJson(ran);
    const std::string name(fake::toString(p));
    INFO(name << ": " << text(json, "provider_reason"));
    CHECK(text(json, "provider") == name);
    CHECK_THAT(text(json, "provider_reason"), Catch::Contains("sys_vendor 'QEMU'"));
    CHECK_THAT(text(json, "provider_reason"), Catch::Contains(mds.endpoint() + " answered with"));
    // One tagged request per provider, then the probe's own.
    std::size_t gce = 0, azure = 0, token = 0;
    for (const auto& r : mds.requests()) {
      gce += r.target == "/computeMetadata/v1/";
      azure += r.target == "/metadata/versions";
      token += r.method == "PUT" && r.target == "/latest/api/token";
    }
    CHECK(gce == 1);
    CHECK(azure == 1);
    CHECK(token == (p == fake::Provider::Ec2 ? 2 : 1));
  }
}

TEST_CASE("provider auto: nothing answers and the firmware is silent: gce assumed, said so",
          "[provider][cli]") {
  TempDir dir;  // no DMI files at all
  fake::FakeMds mds(provider(fake::Provider::Gce));
  mds.start();
  const std::string endpoint = mds.endpoint();
  mds.stop();
  std::string yaml = "provider: auto\ndetection: { sysfs_root: " + (dir / "sys").string() +
                     ", timeout: 300ms }\nmetadata: { endpoint: http://" + endpoint + " }\n";
  writeFile(dir / "g.yaml", yaml);
  Ran shown = runBinary(dir, {"config", "show", "-c", (dir / "g.yaml").string()});
  CHECK(shown.exitCode == 0);
  CHECK_THAT(shown.out, Catch::Contains("# provider in use: gce (no firmware identity"));
  CHECK_THAT(shown.out, Catch::Contains("gce assumed)"));
}
