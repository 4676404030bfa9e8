#include "tests/integration/temp_dir.hpp"

#include <stdexcept>
#include <system_error>

#include <stdlib.h>

namespace guestpulse::testing {

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "guestpulse-test-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (!made) throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace guestpulse::testing
