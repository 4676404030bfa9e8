#include "agent/certs/pem_file.hpp"

#include "platform/files.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace guestpulse::certs {

namespace fs = std::filesystem;

namespace {

// file_time_type has an unspecified epoch before C++20's clock_cast is everywhere;
// translate through "now" on both clocks, which is exact enough for ages in seconds.
WallTime toWallTime(fs::file_time_type when) {
  auto fileNow = fs::file_time_type::clock::now();
  auto wallNow = WallClock::now();
  return wallNow + std::chrono::duration_cast<WallClock::duration>(when - fileNow);
}

std::string describe(const std::error_code& ec) {
  // std::error_code's message is strerror's text on every platform we build for.
  return ec.message();
}

}  // namespace

PemFile readPemFile(const std::string& path, std::size_t limit) {
  PemFile file;
  file.path = path;
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    file.error = path + ": " +
                 describe(ec ? ec : std::make_error_code(std::errc::no_such_file_or_directory));
    return file;
  }
  file.exists = true;
  if (fs::is_directory(status)) {
    file.error = path + ": is a directory, expected a PEM file";
    return file;
  }
  auto modified = fs::last_write_time(path, ec);
  if (!ec) file.modified = toWallTime(modified);

  // Never an ifstream: a FIFO put in place of a credential would block the reading
  // thread for good. Only a regular file is read, and only up to the limit.
  platform::FileRead read = platform::readRegularFile(path, limit);
  if (!read.content) {
    file.error =
        path + ": " +
        (read.tooLarge ? "larger than " + std::to_string(limit) + " bytes, not a PEM credential"
                       : read.error);
    return file;
  }
  std::string text = std::move(*read.content);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    file.error = path + ": empty file";
    return file;
  }
  file.text = std::move(text);
  return file;
}

std::string joinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  char last = dir.back();
  if (last == '/' || last == '\\') return dir + name;
  return dir + "/" + name;
}

}  // namespace guestpulse::certs
