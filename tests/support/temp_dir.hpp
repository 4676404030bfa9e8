#pragma once
// A fresh directory under the system temp dir, removed with everything in it when the
// object goes away. Shared by the unit and integration tests, on every OS.

#include <filesystem>
#include <string>

namespace guestpulse::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace guestpulse::testing
