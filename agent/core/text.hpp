#pragma once
// Text that came from outside (a server's answer, a file, a command's output) made safe to
// show: on a terminal, in the log, in a message that is stored and sent on.

#include <cstddef>
#include <string>
#include <string_view>

namespace guestpulse {

// How much of an outside text a message quotes (a server's error page, a Location).
inline constexpr std::size_t kMaxQuotedText = 200;
// The most a probe's message or fix may hold once it leaves the probe (health.json,
// status.json, guest attributes, the log): longer ones are shortened.
inline constexpr std::size_t kMaxResultText = 1024;

// `text` with every byte that could steer a terminal written as an escape: \n, \r, \t,
// and \xNN for the other C0 controls, DEL, the C1 controls (U+0080..U+009F) and bytes that
// are not valid UTF-8. Printable ASCII and valid UTF-8 otherwise stay as they are.
std::string escapeControls(std::string_view text);

// `text` cut to at most `maxBytes` on a UTF-8 character boundary, ending in "..." when cut.
std::string clipText(std::string_view text, std::size_t maxBytes);

// An outside text for a message: controls escaped, then cut to `maxBytes`. When cut, it
// says how long the whole was: "<first bytes>... (51200 bytes)".
std::string quoteOutside(std::string_view text, std::size_t maxBytes = kMaxQuotedText);

// Whether `text` holds any byte escapeControls() would escape.
bool hasControls(std::string_view text);

}  // namespace guestpulse
