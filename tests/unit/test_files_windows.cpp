// readRegularFile on Windows: named pipes and devices are refused without being opened
// (a pipe server keeps its instance), directories and files over the limit are refused,
// a file another program holds open for writing is still read, and a file locked
// against readers is an error at once, not a wait.

#include <windows.h>

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

std::wstring widen(const std::string& ascii) { return std::wstring(ascii.begin(), ascii.end()); }

}  // namespace

TEST_CASE("readRegularFile (Windows): a named pipe is refused without taking its instance",
          "[hostile][windows]") {
  const std::string name =
      "\\\\.\\pipe\\guestpulse-test-read-" + std::to_string(::GetCurrentProcessId());
  // One instance: had the read connected to it, the next client would find it busy.
  HANDLE server = ::CreateNamedPipeW(widen(name).c_str(), PIPE_ACCESS_DUPLEX,
                                     PIPE_TYPE_BYTE | PIPE_WAIT, 1, 4096, 4096, 0, nullptr);
  REQUIRE(server != INVALID_HANDLE_VALUE);
  auto start = std::chrono::steady_clock::now();
  platform::FileRead read = platform::readRegularFile(name, 1024);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK_FALSE(read.content);
  CHECK_FALSE(read.missing);
  CHECK(read.error == "is a named pipe, not a regular file");
  CHECK(platform::readRegularFile("//./pipe/guestpulse-test-read", 1024).error ==
        "is a named pipe, not a regular file");

  ConfigLoadResult loaded = loadConfigFile(name);
  REQUIRE(loaded.problems.size() == 1);
  CHECK(loaded.problems[0].message ==
        "cannot read " + name + ": is a named pipe, not a regular file");

  HANDLE client = ::CreateFileW(widen(name).c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                OPEN_EXISTING, 0, nullptr);
  CHECK(client != INVALID_HANDLE_VALUE);  // the instance was still free
  if (client != INVALID_HANDLE_VALUE) ::CloseHandle(client);
  ::CloseHandle(server);
}

TEST_CASE("readRegularFile (Windows): device names are refused by name, in any folder",
          "[hostile][windows]") {
  // Only devices that are harmless to open, should the refusal ever fail: never a COM
  // port (COM1 in a wine prefix can be the host's console).
  TempDir dir;
  CHECK(platform::readRegularFile("NUL", 1024).error == "is a device (NUL), not a regular file");
  CHECK(platform::readRegularFile("\\\\.\\NUL", 1024).error ==
        "is a device (NUL), not a regular file");
  CHECK(platform::readRegularFile((dir / "nul.yaml").string(), 1024).error ==
        "is a device (nul), not a regular file");
  CHECK(platform::readRegularFile((dir / "Con .txt").string(), 1024).error ==
        "is a device (Con), not a regular file");
  CHECK(platform::readRegularFile("conout$", 1024).error ==
        "is a device (conout$), not a regular file");
  // A name that only starts like one is a file.
  writeText((dir / "console.yaml").string(), "probes: {}\n");
  CHECK(platform::readRegularFile((dir / "console.yaml").string(), 1024).content == "probes: {}\n");
}

TEST_CASE("readRegularFile (Windows): directories, the size limit, missing files",
          "[hostile][windows]") {
  TempDir dir;
  CHECK(platform::readRegularFile(dir.path().string(), 1024).error ==
        "is a directory, not a regular file");
  const std::string big = (dir / "big").string();
  writeText(big, std::string(2000, 'x'));
  platform::FileRead tooBig = platform::readRegularFile(big, 1024);
  CHECK(tooBig.tooLarge);
  CHECK_FALSE(tooBig.content);
  CHECK(tooBig.error == "is larger than the limit of 1 KiB (2000 bytes or more)");
  CHECK(platform::readRegularFile(big, 4096).content == std::string(2000, 'x'));
  CHECK(platform::readRegularFile(big, 2000).content == std::string(2000, 'x'));
  // The device-namespace spelling of a file on a drive is a file.
  CHECK(platform::readRegularFile("\\\\.\\" + big, 4096).content == std::string(2000, 'x'));

  platform::FileRead none = platform::readRegularFile((dir / "none").string(), 10);
  CHECK(none.missing);
  CHECK(none.error == "No such file or directory");
  CHECK(platform::readRegularFile((dir / "no-dir" / "none").string(), 10).missing);
  const std::string empty = (dir / "empty").string();
  writeText(empty, "");
  CHECK(platform::readRegularFile(empty, 10).content == "");
}

TEST_CASE("readRegularFile (Windows): a file open for writing is read, a locked one is an error",
          "[hostile][windows]") {
  TempDir dir;
  const std::string path = (dir / "health.json").string();
  writeText(path, "{}");
  // A writer that lets others read: the read goes through.
  HANDLE writer = ::CreateFileW(widen(path).c_str(), GENERIC_WRITE, FILE_SHARE_READ, nullptr,
                                OPEN_EXISTING, 0, nullptr);
  REQUIRE(writer != INVALID_HANDLE_VALUE);
  CHECK(platform::readRegularFile(path, 1024).content == "{}");
  ::CloseHandle(writer);
  // A holder that shares nothing: an error at once, and not "missing".
  HANDLE locker =
      ::CreateFileW(widen(path).c_str(), GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
  REQUIRE(locker != INVALID_HANDLE_VALUE);
  auto start = std::chrono::steady_clock::now();
  platform::FileRead locked = platform::readRegularFile(path, 1024);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK_FALSE(locked.content);
  CHECK_FALSE(locked.missing);
  CHECK_THAT(locked.error, Catch::Contains("(error 32)"));  // ERROR_SHARING_VIOLATION
  ::CloseHandle(locker);
  // Being read does not stop the agent's own atomic replace.
  CHECK(platform::replaceFileAtomically(path, "{\"v\":2}", true).empty());
  CHECK(platform::readRegularFile(path, 1024).content == "{\"v\":2}");
}
