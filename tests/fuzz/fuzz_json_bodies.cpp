// Fuzz target: every JSON body the agent reads from outside: a config-status answer, and
// its own state files read back (health.json, guest-attributes.json), whatever a broken
// disk or an operator left in them.

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/app/state_store.hpp"
#include "agent/core/text.hpp"
#include "agent/diagnosis/workload_certs.hpp"
#include "agent/report/guest_attribute_sink.hpp"

using namespace guestpulse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  ConfigStatus status = parseConfigStatus(text);
  if (status.parsed != status.problem.empty()) __builtin_trap();

  HealthModel health;
  health.addProbe("metadata");
  health.addProbe("workload_certs");
  int restored = healthFromJson(health, std::string(text), Timestamp::now());
  if (restored > 2) __builtin_trap();
  (void)healthToJson(health, WallClock::now());
  (void)statusToJson(health, StatusExtras{}, Timestamp::now());

  PersistedAttributes attributes = parsePersistedAttributes(text, "guestpulse");
  if (attributes.values.size() > kMaxRestoredAttributes) __builtin_trap();
  for (const auto& [key, value] : attributes.values)
    if (!isAgentAttributeKey(key) || hasControls(value) || value.size() > kMaxAttributeValue)
      __builtin_trap();
  return 0;
}
