#pragma once
// Durations as the config and the operator see them: "500ms", "30s", "10m", "1h",
// and compound forms such as "1m30s". Internally always std::chrono::milliseconds.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace guestpulse {

using Duration = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

// Parses a duration with a unit ("ms", "s", "m", "h", "d"; parts may be chained,
// "1h30m"). A bare number is rejected: a unit is required. nullopt on any error.
std::optional<Duration> parseDuration(std::string_view text);

// Compact human form: 0s, 750ms, 42s, 5m12s, 2h3m, 1d4h. Sub-second parts are shown
// only when the whole value is under a minute.
std::string formatDuration(Duration d);

// A measured time, such as how long an answer took: formatDuration, except that under a
// millisecond reads "under 1ms" rather than "0s".
std::string formatLatency(Duration d);

// RFC 3339 UTC with second precision: 2026-11-22T22:00:00Z.
std::string formatRfc3339(WallTime t);

}  // namespace guestpulse
