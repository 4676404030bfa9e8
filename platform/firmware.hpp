#pragma once
// The machine's identity as its firmware states it (SMBIOS), which tells the clouds apart
// before any packet is sent: GCE says Google, EC2 says Amazon EC2, and Azure is Hyper-V
// (Microsoft Corporation) with Azure's own chassis asset tag.
//
// Linux reads the kernel's copy of the SMBIOS strings, <sysfs_root>/class/dmi/id/*;
// Windows reads the raw SMBIOS table (GetSystemFirmwareTable('RSMB')) and takes the same
// fields from structure types 0 to 3. Read-only, bounded (a few small files or one
// table), never throws: what could not be read stays empty, and `error` says why when
// nothing could.

#include <string>

namespace guestpulse::platform {

struct FirmwareIdentity {
  std::string systemManufacturer;  // SMBIOS type 1 Manufacturer   (Linux: sys_vendor)
  std::string productName;         // type 1 Product Name          (product_name)
  std::string biosVendor;          // type 0 Vendor                (bios_vendor)
  std::string boardManufacturer;   // type 2 Manufacturer          (board_vendor)
  std::string chassisAssetTag;     // type 3 Asset Tag Number      (chassis_asset_tag)
  std::string source;              // where it was read: "/sys/class/dmi/id"
  std::string error;               // when nothing could be read, why

  bool empty() const {
    return systemManufacturer.empty() && productName.empty() && biosVendor.empty() &&
           boardManufacturer.empty() && chassisAssetTag.empty();
  }
};

struct FirmwareSource {
  // Linux: the sysfs mount point ("/sys" when empty); tests and containers that see the
  // host's sysfs elsewhere point it there. Unused on Windows.
  std::string sysfsRoot;
};

FirmwareIdentity readFirmwareIdentity(const FirmwareSource& source = {});

}  // namespace guestpulse::platform
