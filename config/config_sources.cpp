// Where a config comes from besides YAML text: a file, and the environment.

#include <cctype>
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

namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

void applyEnvironmentOverrides(Config& config, Provider provider) {
  if (provider == Provider::Gce || provider == Provider::Auto) {
    // Google's client libraries build "http://" + GCE_METADATA_HOST and ignore an empty
    // value; doing the same keeps the agent pointed where the VM's other software points.
    const std::string host = environment("GCE_METADATA_HOST");
    if (!host.empty()) config.metadata.endpoint = "http://" + host;
  } else if (provider == Provider::Ec2) {
    // AWS's SDKs: the endpoint variable first, then the endpoint mode.
    std::string endpoint = environment("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    while (endpoint.size() > 1 && endpoint.back() == '/' &&
           endpoint.find("://") + 3 < endpoint.size() - 1)
      endpoint.pop_back();
    std::string mode = environment("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!endpoint.empty())
      config.metadata.endpoint = endpoint;
    else if (mode == "ipv6")
      config.metadata.endpoint = "http://[fd00:ec2::254]";
  }
}

void applyEnvironmentOverrides(Config& config) {
  applyEnvironmentOverrides(config, config.provider);
}

std::string metadataEndpointFor(const Config& config, Provider provider) {
  Config copy = config;
  applyEnvironmentOverrides(copy, provider);
  return copy.metadata.endpoint;
}

}  // namespace guestpulse
