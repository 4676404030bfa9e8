// readFirmwareIdentity on Linux, from a fake sysfs root (never this machine's /sys).

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "agent/provider/provider_detection.hpp"
#include "platform/firmware.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;

namespace {

void writeDmi(const std::filesystem::path& root, const std::string& name,
              const std::string& value) {
  const auto dir = root / "class/dmi/id";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name) << value;
}

}  // namespace

TEST_CASE("firmware identity from a fake sysfs root", "[firmware]") {
  testing::TempDir root;
  writeDmi(root.path(), "sys_vendor", "Microsoft Corporation\n");
  writeDmi(root.path(), "product_name", "Virtual Machine  \n");
  writeDmi(root.path(), "bios_vendor", "Microsoft Corporation\n");
  writeDmi(root.path(), "board_vendor", "Microsoft Corporation\n");
  writeDmi(root.path(), "chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77\n");

  platform::FirmwareIdentity id = platform::readFirmwareIdentity({root.path().string()});
  CHECK(id.systemManufacturer == "Microsoft Corporation");
  CHECK(id.productName == "Virtual Machine");
  CHECK(id.chassisAssetTag == "7783-7084-3265-9085-8269-3286-77");
  CHECK(id.source == (root.path() / "class/dmi/id").string());
  CHECK(id.error.empty());
  CHECK(providerFromFirmware(id).provider == Provider::Azure);
}

TEST_CASE("firmware identity: missing fields stay empty, a missing tree says why", "[firmware]") {
  testing::TempDir root;
  writeDmi(root.path(), "sys_vendor", "Amazon EC2\n");
  platform::FirmwareIdentity some = platform::readFirmwareIdentity({root.path().string()});
  CHECK(some.systemManufacturer == "Amazon EC2");
  CHECK(some.chassisAssetTag.empty());
  CHECK(some.error.empty());
  CHECK(providerFromFirmware(some).provider == Provider::Ec2);

  testing::TempDir empty;
  platform::FirmwareIdentity none = platform::readFirmwareIdentity({empty.path().string()});
  CHECK(none.empty());
  CHECK_THAT(none.error, Catch::Contains("sys_vendor"));
  CHECK_FALSE(providerFromFirmware(none).provider);
}

TEST_CASE("firmware identity: only the first line, bounded", "[firmware]") {
  testing::TempDir root;
  writeDmi(root.path(), "sys_vendor", std::string(5000, 'G') + "\nsecond line\n");
  platform::FirmwareIdentity id = platform::readFirmwareIdentity({root.path().string()});
  CHECK(id.systemManufacturer.size() == 256);
}
