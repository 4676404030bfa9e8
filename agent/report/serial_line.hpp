#pragma once
// One serial console line: the format operators read with
// `gcloud compute instances tail-serial-port-output` (DESIGN.md, "Serial console line").
//
//   guestpulse: 2026-11-22T22:00:00Z ERROR probe=metadata state=FAILED
//       cause=dns.hosts_mapping_missing msg="..." fix="..." key="value"   (one line)
//
// Contract of formatSerialLine():
// - Fields in this order, each omitted when empty: probe=, state=, cause=, msg=, fix=,
//   then the extras in the order given. The time and the level are always present; an
//   empty level is derived from the state (levelFor), or INFO without a state.
// - probe, cause and level are bare tokens when they consist only of [A-Za-z0-9._:/@+-]
//   (true for every probe name and cause code); anything else is quoted like msg.
// - msg, fix and extra values are always quoted with `"`. Inside quotes `"` and `\`
//   are escaped with a backslash; newline, carriage return and tab become `\n`, `\r`,
//   `\t`; every other byte outside printable ASCII (0x20..0x7E), including each byte of
//   a UTF-8 sequence, becomes `\xNN` (two uppercase hex digits). Extra keys keep
//   [A-Za-z0-9._-] and replace any other byte with `_`.
// - The result is pure ASCII, ends in exactly one '\n' and is at most kSerialLineMax
//   bytes including that newline. When the fields do not fit, the longest quoted
//   values are shortened first (msg, fix and extras share the room max-min fairly:
//   short values stay whole, long ones get equal parts), never in the middle of an
//   escape, and a shortened value ends in `...` inside its quotes. Trailing extras are
//   left out when there is not room for every field to keep at least 16 bytes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/core/duration.hpp"
#include "agent/health/probe_result.hpp"

namespace guestpulse {

inline constexpr std::size_t kSerialLineMax = 1024;  // bytes, including the '\n'
inline constexpr std::string_view kSerialLinePrefix = "guestpulse: ";

struct SerialEvent {
  WallTime time;
  std::string level;  // INFO | WARN | ERROR; empty = derived from `state`
  std::string probe;  // empty for agent-level lines
  std::optional<State> state;
  std::string cause;
  std::string message;
  std::string fix;
  std::vector<std::pair<std::string, std::string>> extra;
};

// FAILED -> "ERROR", DEGRADED -> "WARN", OK -> "INFO".
std::string_view levelFor(State s);

std::string formatSerialLine(const SerialEvent& event);

// An event for one probe's result (level derived from the state). Recoveries pass an
// OK result whose message says so, e.g. "recovered after 5m12s".
SerialEvent probeSerialEvent(WallTime time, std::string probe, const ProbeResult& result);

// An agent-level line without a probe, e.g. INFO msg="agent started version=0.1.0".
SerialEvent agentSerialEvent(WallTime time, std::string level, std::string message);

// `guestpulse: <time> WARN msg="serial console dropped N lines"`, newline-terminated.
std::string formatSerialDropLine(WallTime time, std::uint64_t dropped);

}  // namespace guestpulse
