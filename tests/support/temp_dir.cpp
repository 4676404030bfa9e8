#include "tests/support/temp_dir.hpp"

#include <random>
#include <stdexcept>
#include <system_error>

namespace guestpulse::testing {

TempDir::TempDir() {
  // create_directory reports whether it made the directory, so a name another test
  // process took first is skipped, as mkdtemp would.
  std::random_device seed;
  std::mt19937_64 random(seed());
  const auto base = std::filesystem::temp_directory_path();
  for (int tries = 0; tries < 100; ++tries) {
    auto candidate = base / ("guestpulse-test-" + std::to_string(random() % 1000000000000ULL));
    std::error_code ec;
    if (std::filesystem::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
    if (ec) throw std::runtime_error("cannot create " + candidate.string() + ": " + ec.message());
  }
  throw std::runtime_error("cannot create a temporary directory under " + base.string());
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace guestpulse::testing
