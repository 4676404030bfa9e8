#include <catch2/catch.hpp>

#include <string>

#include "platform/common/capped_output.hpp"

using namespace guestpulse::platform;

TEST_CASE("capped output: keeps the first bytes up to the limit and says more came",
          "[exec][capped]") {
  std::string out;
  bool truncated = false;
  appendCapped(out, truncated, 8, "abcde", 5);
  CHECK(out == "abcde");
  CHECK_FALSE(truncated);
  appendCapped(out, truncated, 8, "fgh", 3);
  CHECK(out == "abcdefgh");
  CHECK_FALSE(truncated);  // exactly at the limit: nothing was dropped
  appendCapped(out, truncated, 8, "i", 1);
  CHECK(out == "abcdefgh");
  CHECK(truncated);
}

TEST_CASE("capped output: a chunk larger than the room is cut, not dropped whole",
          "[exec][capped]") {
  std::string out = "ab";
  bool truncated = false;
  appendCapped(out, truncated, 4, "cdefg", 5);
  CHECK(out == "abcd");
  CHECK(truncated);
}

TEST_CASE("capped output: text already over the limit stays as it is", "[exec][capped]") {
  std::string out = "abcdef";
  bool truncated = false;
  appendCapped(out, truncated, 4, "g", 1);
  CHECK(out == "abcdef");
  CHECK(truncated);
  bool untouched = false;
  appendCapped(out, untouched, 4, "", 0);
  CHECK_FALSE(untouched);
}
