// Conversions between config values and their text, and "did you mean" hints.

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "config/config.hpp"

namespace guestpulse {

std::string ConfigProblem::toString() const {
  std::string out;
  if (line > 0) out += "line " + std::to_string(line) + ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

std::string_view toString(Provider p) {
  switch (p) {
    case Provider::Auto:
      return "auto";
    case Provider::Gce:
      return "gce";
    case Provider::Ec2:
      return "ec2";
    case Provider::Azure:
      return "azure";
  }
  return "unknown";
}

std::string_view toString(Enablement e) {
  switch (e) {
    case Enablement::False:
      return "false";
    case Enablement::True:
      return "true";
    case Enablement::Auto:
      return "auto";
  }
  return "unknown";
}

std::string_view toString(CustomProbeKind k) {
  switch (k) {
    case CustomProbeKind::Http:
      return "http";
    case CustomProbeKind::Tcp:
      return "tcp";
    case CustomProbeKind::Exec:
      return "exec";
  }
  return "unknown";
}

std::string formatConfigDuration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    // Never valid in a config, but shown as written so a problem message can quote it.
    out = "-";
    ms = -ms;
  }
  // Hours are the largest unit: "48h" reads better in a config than "2d".
  const std::int64_t hours = ms / 3'600'000, mins = ms / 60'000 % 60, secs = ms / 1000 % 60,
                     millis = ms % 1000;
  if (hours) out += std::to_string(hours) + "h";
  if (mins) out += std::to_string(mins) + "m";
  if (secs) out += std::to_string(secs) + "s";
  if (millis) out += std::to_string(millis) + "ms";
  return out;
}

std::optional<Provider> parseProvider(std::string_view text) {
  for (Provider p : {Provider::Auto, Provider::Gce, Provider::Ec2, Provider::Azure}) {
    if (text == toString(p)) return p;
  }
  return std::nullopt;
}

std::optional<bool> parseYamlBool(std::string_view text) {
  // The YAML 1.1 set that yaml-cpp's as<bool>() accepts, so a value means the same here
  // as in any other yaml-cpp program.
  static constexpr std::string_view kTrue[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                               "True", "TRUE", "on",  "On",  "ON"};
  static constexpr std::string_view kFalse[] = {"n",     "N",     "no",  "No",  "NO", "false",
                                                "False", "FALSE", "off", "Off", "OFF"};
  if (std::find(std::begin(kTrue), std::end(kTrue), text) != std::end(kTrue)) return true;
  if (std::find(std::begin(kFalse), std::end(kFalse), text) != std::end(kFalse)) return false;
  return std::nullopt;
}

std::optional<Enablement> parseEnablement(std::string_view text) {
  if (text == "auto") return Enablement::Auto;
  if (std::optional<bool> b = parseYamlBool(text)) return *b ? Enablement::True : Enablement::False;
  return std::nullopt;
}

std::optional<CustomProbeKind> parseCustomProbeKind(std::string_view text) {
  for (CustomProbeKind k : {CustomProbeKind::Http, CustomProbeKind::Tcp, CustomProbeKind::Exec}) {
    if (text == toString(k)) return k;
  }
  return std::nullopt;
}

namespace {

bool allDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// True when text follows the duration grammar (digits + unit, repeated), whatever its size.
bool wellFormedDuration(std::string_view text) {
  std::size_t i = 0;
  if (text.empty()) return false;
  while (i < text.size()) {
    const std::size_t digitsStart = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == digitsStart) return false;
    const std::size_t unitStart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(unitStart, i - unitStart);
    if (unit != "ms" && unit != "s" && unit != "m" && unit != "h" && unit != "d") return false;
  }
  return true;
}

}  // namespace

std::string describeDurationError(std::string_view text) {
  static constexpr std::string_view kUnits = "500ms, 30s, 10m, 1h";
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return "empty duration; use a number with a unit: " + std::string(kUnits);
  if (allDigits(text)) return quoted + " needs a unit: " + std::string(kUnits);
  if (text.front() == '-') return quoted + " is negative; a duration must be 0 or more";
  if (text.find('.') != std::string_view::npos) {
    return quoted + " has a fraction; use whole numbers of a smaller unit (1500ms, 1m30s)";
  }
  if (wellFormedDuration(text)) return quoted + " is too long; at most 30d";
  return quoted + " is not a duration; use a number with a unit: " + std::string(kUnits) +
         ", or a compound such as 1m30s";
}

namespace {

// Spelling is compared loosely: "Interval" and "expect-status" are plain typos.
std::string normalizeKey(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == '-') c = '_';
  }
  return out;
}

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
// neighbours each cost 1, so "timeuot" is one step from "timeout".
std::size_t editDistance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

}  // namespace

std::string_view closestMatch(std::string_view word,
                              const std::vector<std::string_view>& candidates) {
  constexpr std::size_t kMaxDistance = 2;
  const std::string w = normalizeKey(word);
  std::string_view best;
  std::size_t bestDistance = kMaxDistance + 1;
  for (std::string_view c : candidates) {
    const std::size_t d = editDistance(w, normalizeKey(c));
    // A two-letter word is two edits from every other two-letter word: no hint then.
    if (d < bestDistance && d < w.size()) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

}  // namespace guestpulse
