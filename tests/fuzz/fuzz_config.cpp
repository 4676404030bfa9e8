// Fuzz target: the config loader (YAML text -> Config or named problems). A valid config
// must print back (toYaml) to text that parses to the same Config.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > guestpulse::kMaxConfigBytes) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  guestpulse::ConfigLoadResult loaded = guestpulse::parseConfig(text);
  if (loaded.config) {
    guestpulse::ConfigLoadResult again =
        guestpulse::parseConfig(guestpulse::toYaml(*loaded.config));
    if (!again.config || !(*again.config == *loaded.config)) __builtin_trap();
  } else if (loaded.problems.empty()) {
    __builtin_trap();  // no config and no reason
  }
  return 0;
}
