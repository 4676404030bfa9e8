#pragma once
// Whitespace-separated fields, as the classic configuration files (hosts, resolv.conf)
// define them: spaces, tabs and the other blank characters separate, nothing quotes.

#include <cctype>
#include <string_view>
#include <vector>

namespace guestpulse::platform {

inline bool isFieldBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// `text` without leading and trailing white space (std::isspace: blanks and newlines).
inline std::string_view trimSpace(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

inline std::vector<std::string_view> splitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && isFieldBlank(text[i])) ++i;
    std::size_t start = i;
    while (i < text.size() && !isFieldBlank(text[i])) ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  return fields;
}

}  // namespace guestpulse::platform
