#include "platform/common/proxy_variables.hpp"

#include <cctype>

namespace guestpulse::platform {

EnvironmentMap proxyRelevantVariables(const EnvironmentMap& environment) {
  EnvironmentMap relevant;
  for (const auto& [name, value] : environment) {
    std::string lowered(name);
    for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool proxyName = lowered.size() > 6 && lowered.compare(lowered.size() - 6, 6, "_proxy") == 0;
    if (proxyName || name == "REQUEST_METHOD") relevant.emplace(name, value);
  }
  return relevant;
}

}  // namespace guestpulse::platform
