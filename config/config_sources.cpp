// Where a config comes from besides YAML text: a file, and the environment.

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "config/config.hpp"

namespace guestpulse {

ConfigLoadResult loadConfigFile(const std::string& filePath) {
  constexpr std::size_t kMaxBytes = 1 << 20;  // a config is a few KiB; more is the wrong file
  auto failed = [&](const std::string& why) {
    ConfigLoadResult result;
    result.problems.push_back({"", 0, "cannot read " + filePath + ": " + why});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(filePath, ec)) {
    return failed(std::make_error_code(std::errc::is_a_directory).message());
  }
  std::FILE* file = std::fopen(filePath.c_str(), "rb");
  if (file == nullptr) return failed(std::generic_category().message(errno));
  std::string text;
  char buffer[8192];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0 && text.size() <= kMaxBytes) {
    text.append(buffer, n);
  }
  const bool readError = std::ferror(file) != 0;
  const int readErrno = errno;
  std::fclose(file);
  if (readError) return failed(std::generic_category().message(readErrno));
  if (text.size() > kMaxBytes) return failed("larger than 1 MiB; is this the right file?");
  return parseConfig(text);
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
