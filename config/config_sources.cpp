// Where a config comes from besides YAML text: a file, and the environment.

#include <cstdlib>

#include "config/config.hpp"
#include "platform/files.hpp"

namespace guestpulse {

ConfigLoadResult loadConfigFile(const std::string& filePath) {
  constexpr std::size_t kMaxBytes = kMaxConfigBytes;  // a config is a few KiB
  platform::FileRead read = platform::readRegularFile(filePath, kMaxBytes);
  if (!read.content) {
    ConfigLoadResult result;
    std::string why = read.error;
    if (read.tooLarge) why += "; is this the right file?";
    result.problems.push_back({"", 0, "cannot read " + filePath + ": " + why});
    return result;
  }
  return parseConfig(*read.content);
}

void applyEnvironmentOverrides(Config& config) {
  // Google's client libraries build "http://" + GCE_METADATA_HOST and ignore an empty
  // value; doing the same keeps the agent pointed where the VM's other software points.
  const char* host = std::getenv("GCE_METADATA_HOST");
  if (host != nullptr && *host != '\0') config.metadata.endpoint = std::string("http://") + host;
}

}  // namespace guestpulse
