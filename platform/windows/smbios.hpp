#pragma once
// The SMBIOS structure table (DMTF DSP0134) as Windows returns it from
// GetSystemFirmwareTable('RSMB'), read into the identity fields firmware.hpp names.
// Pure: tests feed it tables built byte by byte.
//
// Each structure: type (1 byte), length of the formatted part (1), handle (2), the rest of
// the formatted part, then its strings, each ending in NUL, the set ending in a second NUL.
// A string field holds a 1-based index into that set; 0 means none. Read here:
// type 0 BIOS Vendor (offset 4); type 1 Manufacturer (4) and Product Name (5); type 2
// Manufacturer (4); type 3 Asset Tag Number (8). The first structure of each type counts.

#include <cstddef>
#include <cstdint>

#include "platform/firmware.hpp"

namespace guestpulse::platform::win {

// `data` is the table itself (RawSMBIOSData::SMBIOSTableData). Malformed input ends the
// walk; what was read so far is kept. Strings are trimmed of trailing spaces.
FirmwareIdentity parseSmbiosTable(const std::uint8_t* data, std::size_t size);

}  // namespace guestpulse::platform::win
