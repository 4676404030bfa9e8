#include "agent/core/timestamp.hpp"

#include <charconv>

namespace guestpulse {

namespace {

// Exactly `width` digits at text[pos], as a number.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// ".250" -> 250 ms (digits beyond the millisecond are read and dropped).
std::optional<Duration> fraction(std::string_view text, std::size_t& pos) {
  if (pos >= text.size() || text[pos] != '.') return Duration(0);
  std::size_t start = ++pos;
  int millis = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (pos - start < 3) millis = millis * 10 + (text[pos] - '0');
    ++pos;
  }
  if (pos == start) return std::nullopt;
  for (std::size_t n = pos - start; n < 3; ++n) millis *= 10;
  return Duration(millis);
}

}  // namespace

std::optional<WallTime> parseRfc3339(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS
  auto year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
  auto hour = digits(text, 11, 2), minute = digits(text, 14, 2), second = digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || text[13] != ':' || text[16] != ':')
    return std::nullopt;
  const year_month_day date{std::chrono::year(*year), std::chrono::month(*month),
                            std::chrono::day(*day)};
  // 60 is a leap second; it reads as the next second's start.
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  std::size_t pos = 19;
  auto millis = fraction(text, pos);
  if (!millis || pos >= text.size()) return std::nullopt;
  minutes offset{0};
  const char zone = text[pos];
  if (zone == 'Z' || zone == 'z') {
    ++pos;
  } else if (zone == '+' || zone == '-') {
    auto oh = digits(text, pos + 1, 2), om = digits(text, pos + 4, 2);
    if (!oh || !om || pos + 3 >= text.size() || text[pos + 3] != ':' || *oh > 23 || *om > 59)
      return std::nullopt;
    offset = hours(*oh) + minutes(*om);
    if (zone == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const auto local = sys_days(date) + hours(*hour) + minutes(*minute) + seconds(*second);
  return time_point_cast<WallClock::duration>(local - offset + *millis);
}

std::optional<WallTime> parseUnixSeconds(std::string_view text) {
  std::size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  long long secs = 0;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
  if (ec != std::errc() || end != whole.data() + whole.size() || whole.empty() ||
      whole.front() == '-' || secs > 253402300799LL)  // 9999-12-31T23:59:59Z
    return std::nullopt;
  std::size_t pos = dot == std::string_view::npos ? text.size() : dot;
  auto millis = fraction(text, pos);
  if (!millis || pos != text.size()) return std::nullopt;
  return WallTime(
      std::chrono::duration_cast<WallClock::duration>(std::chrono::seconds(secs) + *millis));
}

}  // namespace guestpulse
