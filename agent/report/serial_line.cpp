#include "agent/report/serial_line.hpp"

#include <algorithm>
#include <numeric>

namespace guestpulse {
namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";
constexpr std::string_view kEllipsis = "...";
// Caps for the unquoted head fields, so that a runaway probe name or cause can never
// push msg and fix off the line.
constexpr std::size_t kMaxLevelBytes = 16;
constexpr std::size_t kMaxTokenBytes = 128;
// Room every quoted field is promised (or all of itself when shorter); extras that
// cannot get it are left out rather than shown as a useless "...".
constexpr std::size_t kMinFieldBytes = 16;

std::size_t escapedSize(unsigned char c) {
  switch (c) {
    case '"':
    case '\\':
    case '\n':
    case '\r':
    case '\t':
      return 2;
    default:
      return (c < 0x20 || c > 0x7E) ? 4 : 1;
  }
}

void appendEscaped(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (c < 0x20 || c > 0x7E) {
    out += "\\x";
    out += kHexDigits[c >> 4];
    out += kHexDigits[c & 0xF];
  } else {
    out += static_cast<char>(c);
  }
}

std::size_t escapedSize(std::string_view raw) {
  std::size_t n = 0;
  for (unsigned char c : raw) n += escapedSize(c);
  return n;
}

// The escaped form of `raw` in at most `maxBytes` (>= 3) bytes. Shortening happens on
// whole escape units, so `\"` or `\xC3` is never split, and is marked with "...".
std::string escapeWithin(std::string_view raw, std::size_t maxBytes) {
  std::string out;
  if (escapedSize(raw) <= maxBytes) {
    out.reserve(maxBytes);
    for (unsigned char c : raw) appendEscaped(out, c);
    return out;
  }
  const std::size_t room = maxBytes > kEllipsis.size() ? maxBytes - kEllipsis.size() : 0;
  for (unsigned char c : raw) {
    if (out.size() + escapedSize(c) > room) break;
    appendEscaped(out, c);
  }
  out += kEllipsis;
  return out;
}

bool isTokenChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == ':' || c == '/' || c == '@' || c == '+';
}

bool isBareToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return isTokenChar(static_cast<unsigned char>(c));
  });
}

// A head value: bare when it is a plain token, quoted otherwise; both capped.
std::string tokenOrQuoted(std::string_view raw, std::size_t maxBytes) {
  if (isBareToken(raw)) {
    if (raw.size() <= maxBytes) return std::string(raw);
    return std::string(raw.substr(0, maxBytes - kEllipsis.size())) + std::string(kEllipsis);
  }
  return "\"" + escapeWithin(raw, maxBytes - 2) + "\"";
}

std::string sanitizeKey(std::string_view key) {
  std::string out;
  out.reserve(std::min(key.size(), kMaxTokenBytes));
  for (unsigned char c : key.substr(0, kMaxTokenBytes)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    out += ok ? static_cast<char>(c) : '_';
  }
  return out;
}

struct QuotedField {
  std::string key;
  std::string_view raw;
  std::size_t fullSize = 0;  // escaped, without quotes
  std::size_t alloc = 0;     // bytes granted for the escaped value
};

// Max-min fair split of `room` bytes: fields that fit in an equal share keep all of
// it, the longer ones divide what is left. Each field gets at least
// min(fullSize, kMinFieldBytes) because the caller made sure those minimums fit.
void allocate(std::vector<QuotedField>& fields, std::size_t room) {
  std::vector<std::size_t> order(fields.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return fields[a].fullSize < fields[b].fullSize;
  });
  std::size_t left = fields.size();
  for (std::size_t idx : order) {
    std::size_t share = room / left;
    fields[idx].alloc = std::min(fields[idx].fullSize, share);
    room -= fields[idx].alloc;
    --left;
  }
}

}  // namespace

std::string_view levelFor(State s) {
  switch (s) {
    case State::Failed:
      return "ERROR";
    case State::Degraded:
      return "WARN";
    case State::Ok:
      break;
  }
  return "INFO";
}

std::string formatSerialLine(const SerialEvent& event) {
  std::string line;
  line.reserve(256);
  line += kSerialLinePrefix;
  line += formatRfc3339(event.time);
  line += ' ';
  if (!event.level.empty()) {
    line += tokenOrQuoted(event.level, kMaxLevelBytes);
  } else {
    line += event.state ? levelFor(*event.state) : std::string_view("INFO");
  }
  if (!event.probe.empty()) line += " probe=" + tokenOrQuoted(event.probe, kMaxTokenBytes);
  if (event.state) {
    line += " state=";
    line += toString(*event.state);
  }
  if (!event.cause.empty()) line += " cause=" + tokenOrQuoted(event.cause, kMaxTokenBytes);

  std::vector<QuotedField> fields;
  if (!event.message.empty()) fields.push_back({"msg", event.message});
  if (!event.fix.empty()) fields.push_back({"fix", event.fix});
  const std::size_t required = fields.size();  // msg and fix are never left out
  for (const auto& [key, value] : event.extra) {
    std::string k = sanitizeKey(key);
    if (k.empty() || value.empty()) continue;
    fields.push_back({std::move(k), value});
  }
  for (auto& f : fields) f.fullSize = escapedSize(f.raw);

  // The head is capped well below the limit, so room is always positive, and msg and
  // fix always get their minimum.
  std::size_t room = kSerialLineMax - 1 - line.size();
  auto overhead = [](const QuotedField& f) { return f.key.size() + 4; };  // ` key=""`
  for (;;) {
    std::size_t need = 0;
    for (const auto& f : fields) need += overhead(f) + std::min(f.fullSize, kMinFieldBytes);
    if (need <= room || fields.size() <= required) break;
    fields.pop_back();
  }
  std::size_t contentRoom = room;
  for (const auto& f : fields) contentRoom -= overhead(f);
  allocate(fields, contentRoom);

  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += "=\"";
    line += escapeWithin(f.raw, f.alloc);
    line += '"';
  }
  line += '\n';
  return line;
}

SerialEvent probeSerialEvent(WallTime time, std::string probe, const ProbeResult& result) {
  SerialEvent e;
  e.time = time;
  e.level = std::string(levelFor(result.state));
  e.probe = std::move(probe);
  e.state = result.state;
  e.cause = result.cause;
  e.message = result.message;
  e.fix = result.fix;
  return e;
}

SerialEvent agentSerialEvent(WallTime time, std::string level, std::string message) {
  SerialEvent e;
  e.time = time;
  e.level = std::move(level);
  e.message = std::move(message);
  return e;
}

std::string formatSerialDropLine(WallTime time, std::uint64_t dropped) {
  return formatSerialLine(agentSerialEvent(
      time, "WARN", "serial console dropped " + std::to_string(dropped) + " lines"));
}

}  // namespace guestpulse
