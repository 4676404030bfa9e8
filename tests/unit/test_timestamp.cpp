#include <catch2/catch.hpp>

#include "agent/core/timestamp.hpp"

using namespace guestpulse;
using namespace std::chrono;

namespace {

std::string roundTrip(std::optional<WallTime> t) { return t ? formatRfc3339(*t) : "none"; }

long long epochMs(std::optional<WallTime> t) {
  return t ? duration_cast<milliseconds>(t->time_since_epoch()).count() : -1;
}

}  // namespace

TEST_CASE("timestamps: RFC 3339", "[timestamp]") {
  CHECK(roundTrip(parseRfc3339("2026-11-22T22:00:00Z")) == "2026-11-22T22:00:00Z");
  CHECK(roundTrip(parseRfc3339("2026-11-22t22:00:00z")) == "2026-11-22T22:00:00Z");
  CHECK(roundTrip(parseRfc3339("2026-11-22 22:00:00Z")) == "2026-11-22T22:00:00Z");
  CHECK(roundTrip(parseRfc3339("2026-11-22T23:30:00+01:30")) == "2026-11-22T22:00:00Z");
  CHECK(roundTrip(parseRfc3339("2026-11-22T20:00:00-02:00")) == "2026-11-22T22:00:00Z");
  CHECK(roundTrip(parseRfc3339("2026-12-31T23:30:00-01:00")) == "2027-01-01T00:30:00Z");
  CHECK(epochMs(parseRfc3339("1970-01-01T00:00:01.25Z")) == 1250);
  CHECK(epochMs(parseRfc3339("1970-01-01T00:00:01.123456789Z")) == 1123);
  CHECK(epochMs(parseRfc3339("2024-02-29T00:00:00Z")) == 1709164800000);

  for (const char* bad : {"", "2026-11-22", "2026-11-22T22:00:00", "2026-11-22T22:00Z",
                          "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-22T24:00:00Z",
                          "2026-11-22T22:00:00.Z", "2026-11-22T22:00:00+0100",
                          "2026-11-22T22:00:00Z trailing", "22/11/2026 22:00", "1763848800"}) {
    INFO(bad);
    CHECK_FALSE(parseRfc3339(bad));
  }
}

TEST_CASE("timestamps: Unix seconds", "[timestamp]") {
  CHECK(roundTrip(parseUnixSeconds("1763848800")) == "2025-11-22T22:00:00Z");
  CHECK(epochMs(parseUnixSeconds("1.5")) == 1500);
  CHECK(epochMs(parseUnixSeconds("0")) == 0);
  for (const char* bad : {"", "-1", "12abc", "1.", ".5", "1e9", "99999999999999999999",
                          "2026-11-22T22:00:00Z", " 1"}) {
    INFO(bad);
    CHECK_FALSE(parseUnixSeconds(bad));
  }
}
