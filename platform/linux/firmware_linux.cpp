// The firmware's identity on Linux: the SMBIOS strings the kernel exports under
// /sys/class/dmi/id (readable by everyone for these fields).

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "platform/firmware.hpp"

namespace guestpulse::platform {

namespace {

// One DMI attribute: its first line, without trailing whitespace, at most 256 bytes.
std::string readField(const std::string& directory, const char* name, std::string& error) {
  const std::string path = directory + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error.empty()) error = "cannot read " + path + ": " + std::strerror(errno);
    return {};
  }
  char buffer[257];
  in.read(buffer, sizeof buffer - 1);
  std::string value(buffer, static_cast<std::size_t>(in.gcount()));
  if (auto newline = value.find('\n'); newline != std::string::npos) value.resize(newline);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r'))
    value.pop_back();
  return value;
}

}  // namespace

FirmwareIdentity readFirmwareIdentity(const FirmwareSource& source) {
  const std::string root = source.sysfsRoot.empty() ? "/sys" : source.sysfsRoot;
  FirmwareIdentity identity;
  identity.source = root + (root.ends_with('/') ? "" : "/") + "class/dmi/id";
  std::string error;
  identity.systemManufacturer = readField(identity.source, "sys_vendor", error);
  identity.productName = readField(identity.source, "product_name", error);
  identity.biosVendor = readField(identity.source, "bios_vendor", error);
  identity.boardManufacturer = readField(identity.source, "board_vendor", error);
  identity.chassisAssetTag = readField(identity.source, "chassis_asset_tag", error);
  if (identity.empty()) identity.error = error.empty() ? "every field is empty" : error;
  return identity;
}

}  // namespace guestpulse::platform
