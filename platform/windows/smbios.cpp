#include "platform/windows/smbios.hpp"

#include <string>

namespace guestpulse::platform::win {

namespace {

// The `index`th string after a structure's formatted part, or "".
std::string structureString(const std::uint8_t* strings, const std::uint8_t* end,
                            std::uint8_t index) {
  if (index == 0) return {};
  const std::uint8_t* p = strings;
  for (std::uint8_t i = 1; p < end && *p != 0; ++i) {
    const std::uint8_t* start = p;
    while (p < end && *p != 0) ++p;
    if (i == index) {
      std::string value(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      return value;
    }
    ++p;  // past the NUL
  }
  return {};
}

}  // namespace

FirmwareIdentity parseSmbiosTable(const std::uint8_t* data, std::size_t size) {
  FirmwareIdentity identity;
  const std::uint8_t* p = data;
  const std::uint8_t* end = data + size;
  bool seen[4] = {false, false, false, false};
  while (p + 4 <= end) {
    const std::uint8_t type = p[0];
    const std::uint8_t length = p[1];
    if (length < 4 || p + length > end) break;
    const std::uint8_t* strings = p + length;
    // The string set ends at the first double NUL (an empty set is two NULs too).
    const std::uint8_t* next = strings;
    while (next + 1 < end && !(next[0] == 0 && next[1] == 0)) ++next;
    if (next + 1 >= end) break;
    next += 2;
    auto field = [&](std::size_t offset) -> std::string {
      return offset < length ? structureString(strings, next, p[offset]) : std::string();
    };
    if (type < 4 && !seen[type]) {
      seen[type] = true;
      switch (type) {
        case 0:
          identity.biosVendor = field(4);
          break;
        case 1:
          identity.systemManufacturer = field(4);
          identity.productName = field(5);
          break;
        case 2:
          identity.boardManufacturer = field(4);
          break;
        case 3:
          identity.chassisAssetTag = field(8);
          break;
      }
    }
    if (type == 127) break;  // end-of-table
    p = next;
  }
  return identity;
}

}  // namespace guestpulse::platform::win
