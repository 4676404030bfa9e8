// readRegularFile on Linux: what is not a regular file is refused before it is opened,
// so a FIFO cannot hang the reader; the size limit; a missing file.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "config/config.hpp"
#include "platform/files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;
using guestpulse::testing::TempDir;
using namespace std::chrono_literals;

namespace {

void writeText(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

}  // namespace

TEST_CASE("readRegularFile refuses a FIFO, a directory and a file over the limit, at once",
          "[hostile]") {
  TempDir dir;
  std::string fifo = (dir / "f.yaml").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto start = std::chrono::steady_clock::now();
  platform::FileRead read = platform::readRegularFile(fifo, 1024);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK_FALSE(read.content);
  CHECK(read.error == "is a FIFO, not a regular file");

  CHECK(platform::readRegularFile(dir.path().string(), 1024).error ==
        "is a directory, not a regular file");
  CHECK(platform::readRegularFile("/dev/null", 1024).error ==
        "is a character device, not a regular file");
  std::string big = (dir / "big").string();
  writeText(big, std::string(2000, 'x'));
  platform::FileRead tooBig = platform::readRegularFile(big, 1024);
  CHECK(tooBig.tooLarge);
  CHECK_THAT(tooBig.error, Catch::StartsWith("is larger than the limit of 1 KiB"));
  CHECK(platform::readRegularFile(big, 4096).content == std::string(2000, 'x'));
  CHECK(platform::readRegularFile((dir / "none").string(), 10).missing);

  ConfigLoadResult loaded = loadConfigFile(fifo);
  REQUIRE(loaded.problems.size() == 1);
  CHECK(loaded.problems[0].message == "cannot read " + fifo + ": is a FIFO, not a regular file");
}
