#include "platform/linux/environment_file.hpp"

#include <algorithm>

#include "platform/common/text_fields.hpp"

namespace guestpulse::platform {

EnvironmentMap parseEnvironmentFile(std::string_view text) {
  EnvironmentMap variables;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = trimSpace(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line.front() == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trimSpace(line.substr(7));
    auto equals = line.find('=');
    if (equals == std::string_view::npos || equals == 0) continue;
    std::string_view name = trimSpace(line.substr(0, equals));
    std::string_view value = trimSpace(line.substr(equals + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    variables[std::string(name)] = std::string(value);
  }
  return variables;
}

}  // namespace guestpulse::platform
