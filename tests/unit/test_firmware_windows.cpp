// The SMBIOS table parser, on tables built byte by byte as DSP0134 lays them out (a GCE
// VM's strings), and the live reader on the machine it runs on. Wine builds its SMBIOS
// table from the host's /sys/class/dmi/id, so under wine the live answer is compared with
// those files, read through wine's Z: drive.

#include <windows.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "platform/firmware.hpp"
#include "platform/windows/smbios.hpp"

using namespace guestpulse::platform;

namespace {

// One structure: header, the formatted bytes after it, then the strings.
void add(std::vector<std::uint8_t>& table, std::uint8_t type, std::vector<std::uint8_t> formatted,
         std::vector<std::string> strings) {
  table.push_back(type);
  table.push_back(static_cast<std::uint8_t>(4 + formatted.size()));
  table.push_back(0x00);
  table.push_back(0x01);
  table.insert(table.end(), formatted.begin(), formatted.end());
  for (const auto& s : strings) {
    table.insert(table.end(), s.begin(), s.end());
    table.push_back(0);
  }
  if (strings.empty()) table.push_back(0);
  table.push_back(0);
}

std::string sysfs(const char* name) {
  std::ifstream in(std::string("Z:\\sys\\class\\dmi\\id\\") + name);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace

TEST_CASE("SMBIOS: the identity fields of types 0 to 3", "[firmware][windows]") {
  std::vector<std::uint8_t> t;
  // Type 0 BIOS: Vendor = string 1, Version = 2, ...
  add(t, 0, {1, 2, 0x00, 0xe8, 3, 0x00}, {"Google", "Google", "10/20/2026"});
  // Type 1 System: Manufacturer 1, Product 2, Version 0, Serial 3.
  add(t, 1, {1, 2, 0, 3}, {"Google", "Google Compute Engine", "GoogleCloud-1234"});
  // Type 2 Baseboard: Manufacturer 1, Product 2.
  add(t, 2, {1, 2}, {"Google", "Google Compute Engine"});
  // Type 3 Chassis: Manufacturer 1, type, Version 0, Serial 0, Asset Tag 2.
  add(t, 3, {1, 0x01, 0, 0, 2}, {"Google", "   "});
  // A second type 1 does not count; type 127 ends the table.
  add(t, 1, {1, 1, 0, 0}, {"Other"});
  add(t, 127, {}, {});
  auto id = win::parseSmbiosTable(t.data(), t.size());
  CHECK(id.biosVendor == "Google");
  CHECK(id.systemManufacturer == "Google");
  CHECK(id.productName == "Google Compute Engine");
  CHECK(id.boardManufacturer == "Google");
  CHECK(id.chassisAssetTag.empty());  // spaces only
}

TEST_CASE("SMBIOS: Azure's asset tag, no strings, and broken tables", "[firmware][windows]") {
  std::vector<std::uint8_t> t;
  add(t, 1, {1, 2, 0, 0}, {"Microsoft Corporation", "Virtual Machine"});
  add(t, 3, {1, 0x03, 0, 0, 2}, {"Microsoft Corporation", "7783-7084-3265-9085-8269-3286-77"});
  add(t, 0, {0, 0}, {});  // no strings at all
  auto id = win::parseSmbiosTable(t.data(), t.size());
  CHECK(id.systemManufacturer == "Microsoft Corporation");
  CHECK(id.chassisAssetTag == "7783-7084-3265-9085-8269-3286-77");
  CHECK(id.biosVendor.empty());

  // Cut in the middle of a structure, or a length below the header: what was read stays.
  std::vector<std::uint8_t> cut(t.begin(), t.begin() + 20);
  CHECK(win::parseSmbiosTable(cut.data(), cut.size()).systemManufacturer.empty());
  std::vector<std::uint8_t> bad = {1, 2, 0, 0};
  CHECK(win::parseSmbiosTable(bad.data(), bad.size()).empty());
  CHECK(win::parseSmbiosTable(nullptr, 0).empty());
  // A string index past the set reads as none.
  std::vector<std::uint8_t> beyond;
  add(beyond, 1, {9, 0, 0, 0}, {"only"});
  CHECK(win::parseSmbiosTable(beyond.data(), beyond.size()).systemManufacturer.empty());
}

TEST_CASE("SMBIOS: the live table, or why it cannot be read", "[firmware][windows]") {
  FirmwareIdentity id = readFirmwareIdentity();
  CHECK(id.source == "GetSystemFirmwareTable('RSMB')");
  if (id.empty()) {
    INFO("no identity");
    CHECK_FALSE(id.error.empty());
    return;
  }
  CHECK(id.error.empty());
  // Under wine the table comes from the host's DMI strings; on Windows there is no Z:.
  const std::string vendor = sysfs("sys_vendor");
  if (!vendor.empty()) {
    CHECK(id.systemManufacturer == vendor);
    CHECK(id.productName == sysfs("product_name"));
  }
}
