// Where a config comes from besides YAML text: a file, and the environment.

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

void applyEnvironmentOverrides(Config& config) {
  // Google's client libraries build "http://" + GCE_METADATA_HOST and ignore an empty
  // value; doing the same keeps the agent pointed where the VM's other software points.
  const char* host = std::getenv("GCE_METADATA_HOST");
  if (host != nullptr && *host != '\0') config.metadata.endpoint = std::string("http://") + host;
}

}  // namespace guestpulse
