// The firmware's identity on Windows: the raw SMBIOS table from
// GetSystemFirmwareTable('RSMB'), which needs no administrator rights.

#include <windows.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "platform/firmware.hpp"
#include "platform/windows/smbios.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {

FirmwareIdentity readFirmwareIdentity(const FirmwareSource&) {
  constexpr DWORD kRsmb = 'R' << 24 | 'S' << 16 | 'M' << 8 | 'B';
  FirmwareIdentity identity;
  identity.source = "GetSystemFirmwareTable('RSMB')";
  UINT size = ::GetSystemFirmwareTable(kRsmb, 0, nullptr, 0);
  if (size == 0) {
    identity.error = "GetSystemFirmwareTable('RSMB'): " + win::lastErrorText();
    return identity;
  }
  std::vector<std::uint8_t> buffer(size);
  UINT got = ::GetSystemFirmwareTable(kRsmb, 0, buffer.data(), size);
  // RawSMBIOSData: calling method, major, minor, DMI revision (1 byte each), then the
  // table's length (DWORD) and the table.
  constexpr std::size_t kHeader = 8;
  if (got < kHeader || got > size) {
    identity.error = "GetSystemFirmwareTable('RSMB'): " + win::lastErrorText();
    return identity;
  }
  DWORD length = 0;
  std::memcpy(&length, buffer.data() + 4, sizeof length);
  const std::size_t tableSize = std::min<std::size_t>(length, got - kHeader);
  FirmwareIdentity parsed = win::parseSmbiosTable(buffer.data() + kHeader, tableSize);
  parsed.source = identity.source;
  if (parsed.empty()) parsed.error = "the SMBIOS table names no manufacturer, product or vendor";
  return parsed;
}

}  // namespace guestpulse::platform
