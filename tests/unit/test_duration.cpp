// parseDuration / formatDuration / formatRfc3339: the duration grammar of the config
// file and the time formats operators read on the serial console and guest attributes.

#include <catch2/catch.hpp>

#include "agent/core/duration.hpp"

namespace guestpulse {

using namespace std::chrono_literals;

TEST_CASE("parseDuration reads every unit", "[duration]") {
  CHECK(parseDuration("500ms") == Duration(500ms));
  CHECK(parseDuration("30s") == Duration(30s));
  CHECK(parseDuration("10m") == Duration(10min));
  CHECK(parseDuration("1h") == Duration(1h));
  CHECK(parseDuration("1d") == Duration(24h));
  CHECK(parseDuration("0s") == Duration(0ms));
  CHECK(parseDuration("0ms") == Duration(0ms));
  CHECK(parseDuration("007s") == Duration(7s));
}

TEST_CASE("parseDuration reads compound durations", "[duration]") {
  CHECK(parseDuration("1m30s") == Duration(90s));
  CHECK(parseDuration("1h30m") == Duration(90min));
  CHECK(parseDuration("2h3m4s5ms") == Duration(2h + 3min + 4s + 5ms));
  CHECK(parseDuration("1s500ms") == Duration(1500ms));
  CHECK(parseDuration("1d12h") == Duration(36h));
}

TEST_CASE("parseDuration rejects text that is not a duration", "[duration]") {
  for (const char* bad : {"30", "-1s", "1.5s", "s", "", "ms", "1x", "1 s", " 1s", "1s ", "1S",
                          "1sec", "+1s", "1m30", "m30s", "0x10s", "1_000ms", "1s1s", "30s1h"}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(parseDuration(bad).has_value());
  }
}

TEST_CASE("parseDuration rejects values that overflow or exceed 30 days", "[duration]") {
  CHECK(parseDuration("30d") == Duration(720h));
  CHECK(parseDuration("720h") == Duration(720h));
  CHECK_FALSE(parseDuration("31d").has_value());
  CHECK_FALSE(parseDuration("721h").has_value());
  CHECK_FALSE(parseDuration("29d24h1ms").has_value());
  CHECK_FALSE(parseDuration("2147483648ms").has_value());
  CHECK_FALSE(parseDuration("99999999999999999999s").has_value());
  CHECK_FALSE(parseDuration("9223372036854775807ms").has_value());
}

TEST_CASE("formatDuration prints the compact human form", "[duration]") {
  CHECK(formatDuration(0ms) == "0s");
  CHECK(formatDuration(750ms) == "750ms");
  CHECK(formatDuration(1ms) == "1ms");
  CHECK(formatDuration(42s) == "42s");
  CHECK(formatDuration(1500ms) == "1.5s");
  CHECK(formatDuration(60s) == "1m");
  CHECK(formatDuration(5min + 12s) == "5m12s");
  CHECK(formatDuration(1h) == "1h");
  CHECK(formatDuration(2h + 3min) == "2h3m");
  CHECK(formatDuration(24h + 4h) == "1d4h");
  CHECK(formatDuration(-5s) == "-5s");
  CHECK(formatDuration(1050ms) == "1.1s");  // rounded, never "1.0s"
  CHECK(formatDuration(1999ms) == "2s");
  CHECK(formatDuration(Duration::min()) == "-forever");
}

TEST_CASE("formatDuration output of whole units parses back", "[duration]") {
  for (Duration d : {Duration(750ms), Duration(42s), Duration(5min + 12s), Duration(2h + 3min),
                     Duration(28h), Duration(10min)}) {
    INFO(formatDuration(d));
    CHECK(parseDuration(formatDuration(d)) == d);
  }
}

TEST_CASE("formatRfc3339 prints UTC with second precision", "[duration]") {
  using std::chrono::sys_days;
  using namespace std::chrono;
  CHECK(formatRfc3339(WallTime{}) == "1970-01-01T00:00:00Z");
  const WallTime example = sys_days{year{2026} / November / 22} + 22h;
  CHECK(formatRfc3339(example) == "2026-11-22T22:00:00Z");
  // Sub-second parts are dropped, never rounded up into the next second.
  CHECK(formatRfc3339(example + 999ms) == "2026-11-22T22:00:00Z");
  CHECK(formatRfc3339(sys_days{year{2024} / February / 29} + 23h + 59min + 59s) ==
        "2024-02-29T23:59:59Z");
  CHECK(formatRfc3339(sys_days{year{2038} / January / 19} + 3h + 14min + 8s) ==
        "2038-01-19T03:14:08Z");
}

}  // namespace guestpulse
