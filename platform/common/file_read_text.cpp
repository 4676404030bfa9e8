#include "platform/common/file_read_text.hpp"

namespace guestpulse::platform {

namespace {

std::string sizeText(std::size_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
    return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

std::string notRegularFileError(std::string_view kind) {
  return "is " + std::string(kind) + ", not a regular file";
}

std::string fileTooLargeError(std::size_t maxBytes, std::size_t size) {
  return "is larger than the limit of " + sizeText(maxBytes) + " (" + std::to_string(size) +
         " bytes or more)";
}

}  // namespace guestpulse::platform
