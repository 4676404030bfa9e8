// The Linux SerialPort against real files, FIFOs and ptys of the test's own. Never
// /dev/ttyS0: on these machines that is the real console.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "platform/serial_port.hpp"

using namespace guestpulse::platform;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "gp-serial-port-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Everything readable from a non-blocking fd right now (waits up to `wait` for the
// first byte).
std::string drain(int fd, std::chrono::milliseconds wait = 0ms) {
  std::string out;
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(wait.count())) <= 0) return out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

bool sigpipePending() {
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

struct Pty {
  int master = -1;
  std::string slavePath;
  Pty() {
    master = ::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    slavePath = ::ptsname(master);
  }
  ~Pty() {
    if (master >= 0) ::close(master);
  }
};

}  // namespace

TEST_CASE("serial port: a missing path is created as a regular file and appended to", "[serial]") {
  TempDir dir;
  const std::string path = dir.file("console.log");
  auto port = openSerialPort(path);
  CHECK(port->device() == path);
  auto r = port->write("first\n", 100ms);
  REQUIRE(r.status == SerialWriteStatus::Written);
  CHECK(r.written == 6);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 0777 & ~0640) == 0);

  // Someone else appends meanwhile; O_APPEND keeps both.
  { std::ofstream(path, std::ios::app) << "other\n"; }
  REQUIRE(port->write("second\n", 100ms).status == SerialWriteStatus::Written);
  CHECK(slurp(path) == "first\nother\nsecond\n");

  // A fresh port on an existing file appends, never truncates.
  port = openSerialPort(path);
  REQUIRE(port->write("third\n", 100ms).status == SerialWriteStatus::Written);
  CHECK(slurp(path) == "first\nother\nsecond\nthird\n");
}

TEST_CASE("serial port: never creates a file under /dev", "[serial]") {
  const std::string missing = "/dev/guestpulse-unit-test-no-such-device";
  REQUIRE_FALSE(fs::exists(missing));
  auto r = openSerialPort(missing)->write("x\n", 50ms);
  bool created = fs::exists(missing);
  if (created) fs::remove(missing);  // do not leave litter in /dev if this ever fails
  CHECK_FALSE(created);
  CHECK(r.status == SerialWriteStatus::Unavailable);
  CHECK(r.error.find("open " + missing + ": ") == 0);  // ENOENT (EINVAL in some sandboxes)

  // Nor through a symlink that points into /dev.
  TempDir dir;
  const std::string link = dir.file("console");
  fs::create_symlink(missing, link);
  r = openSerialPort(link)->write("x\n", 50ms);
  created = fs::exists(missing);
  if (created) fs::remove(missing);
  CHECK_FALSE(created);
  CHECK(r.status == SerialWriteStatus::Unavailable);
  CHECK(r.error.find("open " + link + ": ") == 0);

  // Nor through a directory symlink that leads into /dev.
  const std::string devLink = dir.file("devdir");
  fs::create_directory_symlink("/dev", devLink);
  r = openSerialPort(devLink + "/guestpulse-unit-test-no-such-device")->write("x\n", 50ms);
  created = fs::exists(missing);
  if (created) fs::remove(missing);
  CHECK_FALSE(created);
  CHECK(r.status == SerialWriteStatus::Unavailable);
}

TEST_CASE("serial port: a directory is unavailable, not fatal", "[serial]") {
  TempDir dir;
  auto r = openSerialPort(dir.file(""))->write("x\n", 50ms);
  CHECK(r.status == SerialWriteStatus::Unavailable);
  CHECK(r.error.find("open ") == 0);
}

TEST_CASE("serial port: FIFO without reader is unavailable, then works once one attaches",
          "[serial]") {
  TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto port = openSerialPort(fifo);

  auto r = port->write("lost\n", 50ms);
  CHECK(r.status == SerialWriteStatus::Unavailable);
  CHECK(r.error.find("open " + fifo + ": ENXIO") == 0);

  int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  r = port->write("hello\n", 50ms);
  CHECK(r.status == SerialWriteStatus::Written);
  CHECK(r.written == 6);
  CHECK(drain(reader, 1000ms) == "hello\n");

  SECTION("the reader goes away: EPIPE, and no SIGPIPE kills or lingers") {
    ::close(reader);
    REQUIRE_FALSE(sigpipePending());
    r = port->write("nobody\n", 50ms);
    CHECK(r.status == SerialWriteStatus::Unavailable);
    CHECK(r.error.find("write " + fifo + ": EPIPE") == 0);
    CHECK_FALSE(sigpipePending());
    // Closed on error: the next write reopens and finds no reader again.
    r = port->write("nobody\n", 50ms);
    CHECK(r.status == SerialWriteStatus::Unavailable);
    CHECK(r.error.find("ENXIO") != std::string::npos);
  }

  SECTION("a full FIFO times out with WouldBlock") {
    std::string chunk(64 * 1024, 'x');
    SerialWriteStatus last = SerialWriteStatus::Written;
    for (int i = 0; i < 64 && last == SerialWriteStatus::Written; ++i) {
      last = port->write(chunk, 10ms).status;
    }
    CHECK(last == SerialWriteStatus::WouldBlock);
    drain(reader);
    CHECK(port->write("again\n", 50ms).status == SerialWriteStatus::Written);
    ::close(reader);
  }
}

TEST_CASE("serial port: a pty is set raw 115200 8N1 and never blocks when unread", "[serial]") {
  Pty pty;
  auto port = openSerialPort(pty.slavePath);
  REQUIRE(port->write("hi\n", 100ms).status == SerialWriteStatus::Written);
  CHECK(drain(pty.master, 1000ms) == "hi\n");  // raw: no "\r\n" translation

  int slave = ::open(pty.slavePath.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(slave >= 0);
  termios tio{};
  REQUIRE(::tcgetattr(slave, &tio) == 0);
  CHECK(::cfgetospeed(&tio) == B115200);
  CHECK((tio.c_cflag & CSIZE) == CS8);
  CHECK((tio.c_cflag & PARENB) == 0);
  CHECK((tio.c_cflag & CSTOPB) == 0);
  CHECK((tio.c_oflag & OPOST) == 0);
  CHECK((tio.c_lflag & (ICANON | ECHO)) == 0);

  // Nobody reads the master: the buffer fills and writes time out instead of blocking.
  std::string chunk(16 * 1024, 'y');
  SerialWriteResult r;
  std::size_t total = 0;
  for (int i = 0; i < 256; ++i) {
    r = port->write(chunk, 10ms);
    if (r.status != SerialWriteStatus::Written) break;
    total += r.written;
  }
  CHECK(r.status == SerialWriteStatus::WouldBlock);
  CHECK(total > 0);

  SECTION("reading makes room again") {
    while (!drain(pty.master).empty()) {
    }
    r = port->write("after\n", 100ms);
    CHECK(r.status == SerialWriteStatus::Written);
  }

  SECTION("the other end closes: unavailable") {
    ::close(pty.master);
    pty.master = -1;
    ::close(slave);
    slave = -1;
    r = port->write("gone\n", 50ms);
    CHECK(r.status == SerialWriteStatus::Unavailable);
    CHECK_FALSE(r.error.empty());
  }
  if (slave >= 0) ::close(slave);
}

TEST_CASE("serial port: a file deleted and recreated is followed", "[serial]") {
  TempDir dir;
  const std::string path = dir.file("console.log");
  auto port = openSerialPort(path);
  REQUIRE(port->write("one\n", 50ms).status == SerialWriteStatus::Written);

  fs::remove(path);
  { std::ofstream(path) << "new\n"; }
  REQUIRE(port->write("two\n", 50ms).status == SerialWriteStatus::Written);
  CHECK(slurp(path) == "new\ntwo\n");

  // Deleted and not recreated: the port creates it again, as on first open.
  fs::remove(path);
  REQUIRE(port->write("three\n", 50ms).status == SerialWriteStatus::Written);
  CHECK(slurp(path) == "three\n");

  // Replaced by a FIFO with a reader.
  fs::remove(path);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  REQUIRE(port->write("four\n", 50ms).status == SerialWriteStatus::Written);
  CHECK(drain(reader, 1000ms) == "four\n");
  ::close(reader);
}

TEST_CASE("serial port: close() then write reopens", "[serial]") {
  TempDir dir;
  const std::string path = dir.file("c");
  auto port = openSerialPort(path);
  REQUIRE(port->write("a\n", 50ms).status == SerialWriteStatus::Written);
  port->close();
  port->close();
  REQUIRE(port->write("b\n", 50ms).status == SerialWriteStatus::Written);
  CHECK(slurp(path) == "a\nb\n");
}
