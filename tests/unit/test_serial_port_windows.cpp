// The Windows SerialPort against stand-ins of the test's own: a named pipe read by the
// test (the bytes arrive), one nobody reads (the write returns within its timeout), a
// file (appended to), and paths that cannot be opened. COM ports themselves are
// exercised end to end under wine with COM1 on a pty (tests/e2e/test_windows_wine.sh);
// no test opens a real COM port.

#include <windows.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "platform/serial_port.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
using platform::SerialWriteStatus;

namespace {

std::string uniquePipeName() {
  return "\\\\.\\pipe\\guestpulse-serial-test-" + std::to_string(::GetCurrentProcessId()) + "-" +
         std::to_string(::GetTickCount64());
}

// A pipe server with a small buffer; the test decides whether anyone reads it.
struct PipeServer {
  HANDLE h = INVALID_HANDLE_VALUE;
  explicit PipeServer(const std::string& name, DWORD buffer) {
    h = ::CreateNamedPipeA(name.c_str(), PIPE_ACCESS_INBOUND,
                           PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, buffer, buffer, 0,
                           nullptr);
  }
  ~PipeServer() {
    if (h != INVALID_HANDLE_VALUE) ::CloseHandle(h);
  }
  std::string readAll(std::size_t want) {
    std::string out;
    char buffer[4096];
    while (out.size() < want) {
      DWORD got = 0;
      if (!::ReadFile(h, buffer, sizeof buffer, &got, nullptr) || got == 0) break;
      out.append(buffer, got);
    }
    return out;
  }
};

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("serial port (Windows): bytes reach a named pipe", "[serial][windows]") {
  const std::string name = uniquePipeName();
  PipeServer server(name, 4096);
  REQUIRE(server.h != INVALID_HANDLE_VALUE);
  auto port = platform::openSerialPort(name);
  const std::string line = "guestpulse: 2026-11-22T22:00:00Z INFO msg=\"hello\"\r\n";
  auto r = port->write(line, 1000ms);
  INFO(r.error);
  REQUIRE(r.status == SerialWriteStatus::Written);
  CHECK(r.written == line.size());
  CHECK(server.readAll(line.size()) == line);
  CHECK(port->device() == name);
}

TEST_CASE("serial port (Windows): a pipe nobody reads never holds a write past its timeout",
          "[serial][windows]") {
  const std::string name = uniquePipeName();
  PipeServer server(name, 1024);
  REQUIRE(server.h != INVALID_HANDLE_VALUE);
  auto port = platform::openSerialPort(name);
  const std::string chunk(64 * 1024, 'x');
  // Fill whatever buffer the pipe has, then time writes that cannot complete.
  bool stalled = false;
  for (int i = 0; i < 64 && !stalled; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto r = port->write(chunk, 200ms);
    const auto took = std::chrono::steady_clock::now() - start;
    INFO(r.error);
    REQUIRE(r.status != SerialWriteStatus::Unavailable);
    CHECK(took < 200ms + 1500ms);
    if (r.status == SerialWriteStatus::WouldBlock || r.written < chunk.size()) {
      stalled = true;
      CHECK(took >= 150ms);  // it did wait for room, up to the timeout
    }
  }
  CHECK(stalled);
}

TEST_CASE("serial port (Windows): a file is appended to, and created when missing",
          "[serial][windows]") {
  testing::TempDir dir;
  const auto path = dir / "console.log";
  auto port = platform::openSerialPort(path.string());
  REQUIRE(port->write("one\r\n", 500ms).status == SerialWriteStatus::Written);
  REQUIRE(port->write("two\r\n", 500ms).status == SerialWriteStatus::Written);
  port->close();
  auto again = platform::openSerialPort(path.string());
  REQUIRE(again->write("three\r\n", 500ms).status == SerialWriteStatus::Written);
  again->close();
  CHECK(slurp(path) == "one\r\ntwo\r\nthree\r\n");
}

TEST_CASE("serial port (Windows): what cannot be opened is Unavailable, with the reason",
          "[serial][windows]") {
  testing::TempDir dir;
  auto missingDir = platform::openSerialPort((dir / "no" / "such" / "console.log").string());
  auto r = missingDir->write("x", 100ms);
  CHECK(r.status == SerialWriteStatus::Unavailable);
  CHECK(r.error.rfind("open ", 0) == 0);
  CHECK(r.error.find("(error 3)") != std::string::npos);  // ERROR_PATH_NOT_FOUND
  // A device path is never created as a file.
  auto noPipe = platform::openSerialPort("\\\\.\\pipe\\guestpulse-no-such-pipe");
  auto p = noPipe->write("x", 100ms);
  CHECK(p.status == SerialWriteStatus::Unavailable);
  CHECK(p.error.find("(error 2)") != std::string::npos);  // ERROR_FILE_NOT_FOUND
}

TEST_CASE("serial port (Windows): a pipe that goes away is Unavailable, then reopened",
          "[serial][windows]") {
  const std::string name = uniquePipeName();
  auto port = platform::openSerialPort(name);
  {
    PipeServer first(name, 4096);
    REQUIRE(port->write("a\n", 500ms).status == SerialWriteStatus::Written);
    CHECK(first.readAll(2) == "a\n");
  }
  auto gone = port->write("b\n", 500ms);
  CHECK(gone.status == SerialWriteStatus::Unavailable);
  PipeServer second(name, 4096);
  auto back = port->write("c\n", 500ms);
  INFO(back.error);
  REQUIRE(back.status == SerialWriteStatus::Written);
  CHECK(second.readAll(2) == "c\n");
}
