#include "agent/core/text.hpp"

namespace guestpulse {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

// The length of the valid UTF-8 sequence at text[i] that encodes a printable character
// (not a C1 control, no overlong form, no surrogate), or 0.
std::size_t printableSequence(std::string_view text, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = at(i);
  std::size_t length = lead >= 0xF0 && lead <= 0xF4   ? 4
                       : lead >= 0xE0 && lead <= 0xEF ? 3
                       : lead >= 0xC2 && lead <= 0xDF ? 2
                                                      : 0;
  if (length == 0 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k)
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  if (length == 2 && lead == 0xC2 && at(i + 1) < 0xA0) return 0;   // C1 controls
  if (length == 3 && lead == 0xE0 && at(i + 1) < 0xA0) return 0;   // overlong
  if (length == 3 && lead == 0xED && at(i + 1) >= 0xA0) return 0;  // surrogates
  if (length == 4 && lead == 0xF0 && at(i + 1) < 0x90) return 0;   // overlong
  if (length == 4 && lead == 0xF4 && at(i + 1) >= 0x90) return 0;  // past U+10FFFF
  return length;
}

}  // namespace

namespace {

// Appends the escaped form of the character at text[i]; returns how many bytes it took.
std::size_t appendEscapedAt(std::string& out, std::string_view text, std::size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  if (c >= 0x20 && c < 0x7F) {
    out += static_cast<char>(c);
    return 1;
  }
  if (c >= 0x80) {
    if (std::size_t n = printableSequence(text, i)) {
      out.append(text.substr(i, n));
      return n;
    }
  }
  switch (c) {
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
  }
  return 1;
}

}  // namespace

std::string escapeControls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) i += appendEscapedAt(out, text, i);
  return out;
}

bool hasControls(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      ++i;
      continue;
    }
    if (c < 0x80) return true;
    std::size_t n = printableSequence(text, i);
    if (n == 0) return true;
    i += n;
  }
  return false;
}

std::string clipText(std::string_view text, std::size_t maxBytes) {
  if (text.size() <= maxBytes) return std::string(text);
  constexpr std::string_view kEllipsis = "...";
  std::size_t cut = maxBytes > kEllipsis.size() ? maxBytes - kEllipsis.size() : 0;
  // Back off over UTF-8 continuation bytes so a character is never split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + std::string(kEllipsis);
}

std::string quoteOutside(std::string_view text, std::size_t maxBytes) {
  constexpr std::string_view kEllipsis = "...";
  std::string out;
  std::string unit;
  for (std::size_t i = 0; i < text.size();) {
    unit.clear();
    std::size_t used = appendEscapedAt(unit, text, i);
    // Whole escapes and characters only; room is kept for the "..." if more follows.
    bool last = i + used == text.size();
    if (out.size() + unit.size() + (last ? 0 : kEllipsis.size()) > maxBytes) {
      out += kEllipsis;
      return out + " (" + std::to_string(text.size()) + " bytes)";
    }
    out += unit;
    i += used;
  }
  return out;
}

}  // namespace guestpulse
