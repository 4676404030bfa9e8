#include "agent/core/duration.hpp"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <limits>

namespace guestpulse {

std::optional<Duration> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t totalMs = 0;
  std::int64_t previousScale = std::numeric_limits<std::int64_t>::max();
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    std::int64_t value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + (text[i] - '0');
      if (value > std::numeric_limits<std::int32_t>::max()) return std::nullopt;
      ++i;
    }
    std::size_t unitStart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unitStart, i - unitStart);
    std::int64_t scale = 0;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60'000;
    else if (unit == "h")
      scale = 3'600'000;
    else if (unit == "d")
      scale = 86'400'000;
    else
      return std::nullopt;  // missing or unknown unit
    // Units must come largest first, each once: "1h30m", not "30m1h" or "1s1s".
    if (scale >= previousScale) return std::nullopt;
    previousScale = scale;
    totalMs += value * scale;
    // Cap at 30 days: nothing in this agent waits longer, and it keeps arithmetic safe.
    if (totalMs > 30LL * 86'400'000) return std::nullopt;
  }
  return Duration(totalMs);
}

std::string formatDuration(Duration d) {
  std::int64_t ms = d.count();
  if (ms < 0)
    return ms == Duration::min().count() ? "-forever" : "-" + formatDuration(Duration(-ms));
  if (ms == 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60'000) {
    // One decimal is enough for an operator: 1.5s (rounded, so 1050ms is 1.1s).
    std::int64_t tenths = (ms + 50) / 100;
    if (tenths % 10 == 0) return std::to_string(tenths / 10) + "s";
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
  }
  std::int64_t s = ms / 1000;
  std::int64_t days = s / 86400, hours = (s % 86400) / 3600, mins = (s % 3600) / 60, secs = s % 60;
  std::string out;
  if (days) out += std::to_string(days) + "d";
  if (hours) out += std::to_string(hours) + "h";
  if (mins && !days) out += std::to_string(mins) + "m";
  if (secs && !days && !hours) out += std::to_string(secs) + "s";
  return out;
}

std::string formatLatency(Duration d) {
  return d < Duration(1) ? std::string("under 1ms") : formatDuration(d);
}

std::string formatRfc3339(WallTime t) {
  // Civil-time arithmetic of <chrono>: no gmtime_r / gmtime_s, so no OS difference.
  using namespace std::chrono;
  const auto seconds = floor<std::chrono::seconds>(t);
  const auto day = floor<days>(seconds);
  const year_month_day date(day);
  const hh_mm_ss<std::chrono::seconds> time(seconds - day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return buf;
}

}  // namespace guestpulse
