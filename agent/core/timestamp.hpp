#pragma once
// Points in time written by other programs, read back: RFC 3339 date-times and Unix
// seconds. formatRfc3339 (duration.hpp) is the writing side.

#include <optional>
#include <string_view>

#include "agent/core/duration.hpp"

namespace guestpulse {

// An RFC 3339 date-time: "2026-11-22T22:00:00Z", "2026-11-22T23:00:00.250+01:00"; 't',
// 'z' and a space between date and time are accepted as RFC 3339 allows; fractions are
// kept to the millisecond. nullopt for anything else (no date alone, no missing offset).
std::optional<WallTime> parseRfc3339(std::string_view text);

// Seconds since the Unix epoch, whole or with a fraction: "1763848800", "1763848800.25".
std::optional<WallTime> parseUnixSeconds(std::string_view text);

}  // namespace guestpulse
