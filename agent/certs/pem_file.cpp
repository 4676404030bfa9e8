#include "agent/certs/pem_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
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

  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int saved = errno;
    file.error = path + ": " + (saved ? std::strerror(saved) : "cannot open");
    return file;
  }
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) {
      file.error = path + ": larger than " + std::to_string(limit) + " bytes, not a PEM credential";
      return file;
    }
  }
  if (in.bad()) {
    file.error = path + ": read error";
    return file;
  }
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
