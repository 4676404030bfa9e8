// SerialConsoleSink against a scripted fake port (ordering, drop-oldest, partial
// writes, backoff) and against real files, FIFOs and ptys of the test's own. Waits are
// on conditions with generous timeouts, never fixed sleeps. Never /dev/ttyS0.

#ifndef _WIN32  // FIFOs and ptys: the cases at the end
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/report/serial_line.hpp"
#include "agent/report/serial_sink.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using platform::SerialWriteResult;
using platform::SerialWriteStatus;

namespace {

constexpr auto kPatience = 5s;  // upper bound for anything the writer thread must do

bool waitUntil(const std::function<bool()>& done, Duration timeout = kPatience) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!done()) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

const WallTime kTime =
    WallTime(std::chrono::sys_days(std::chrono::year(2026) / std::chrono::November / 22) + 22h);

std::string lineN(int n) {
  return formatSerialLine(agentSerialEvent(kTime, "INFO", "line " + std::to_string(n)));
}

std::string linesFrom(int first, int last) {
  std::string out;
  for (int n = first; n <= last; ++n) out += lineN(n);
  return out;
}

// The device behind FakePort, scripted by the test.
struct FakeDevice {
  std::mutex mutex;
  SerialWriteStatus mode = SerialWriteStatus::Written;
  std::size_t chunk = SIZE_MAX;   // most bytes accepted per call
  std::size_t budget = SIZE_MAX;  // bytes accepted in all before it stalls (WouldBlock)
  bool blockEveryOther = false;   // alternate WouldBlock and progress
  std::string out;
  std::vector<SteadyTime> attempts;
  int portsMade = 0;

  void set(SerialWriteStatus m) {
    std::lock_guard lock(mutex);
    mode = m;
  }
  void setBudget(std::size_t b) {
    std::lock_guard lock(mutex);
    budget = b;
  }
  std::string output() {
    std::lock_guard lock(mutex);
    return out;
  }
};

class FakePort final : public platform::SerialPort {
 public:
  FakePort(std::shared_ptr<FakeDevice> dev, std::string path)
      : dev_(std::move(dev)), path_(std::move(path)) {}
  SerialWriteResult write(std::string_view data, std::chrono::milliseconds) override {
    std::lock_guard lock(dev_->mutex);
    dev_->attempts.push_back(SteadyClock::now());
    if (dev_->mode == SerialWriteStatus::Unavailable) {
      return {SerialWriteStatus::Unavailable, 0, "open " + path_ + ": ENXIO (fake)"};
    }
    if (dev_->mode == SerialWriteStatus::WouldBlock || dev_->budget == 0 ||
        (dev_->blockEveryOther && dev_->attempts.size() % 2 == 0)) {
      return {SerialWriteStatus::WouldBlock, 0, {}};
    }
    std::size_t n = std::min({data.size(), dev_->chunk, dev_->budget});
    if (dev_->budget != SIZE_MAX) dev_->budget -= n;
    dev_->out.append(data.substr(0, n));
    return {SerialWriteStatus::Written, n, {}};
  }
  void close() override {}
  const std::string& device() const override { return path_; }

 private:
  std::shared_ptr<FakeDevice> dev_;
  std::string path_;
};

SerialPortFactory fakeFactory(const std::shared_ptr<FakeDevice>& dev) {
  return [dev](const std::string& path) {
    {
      std::lock_guard lock(dev->mutex);
      ++dev->portsMade;
    }
    return std::make_unique<FakePort>(dev, path);
  };
}

SerialSinkOptions fastOptions(std::size_t capacity) {
  SerialSinkOptions o;
  o.capacity = capacity;
  o.writeTimeout = 20ms;
  o.initialBackoff = 1ms;
  o.maxBackoff = 8ms;
  o.wallClock = [] { return kTime; };
  return o;
}

class TempDir {
 public:
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

 private:
  testing::TempDir dir_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

#ifndef _WIN32
// Reads from a non-blocking fd until `want` bytes arrived or the patience ran out.
std::string readAtLeast(int fd, std::size_t want, Duration timeout = kPatience) {
  std::string out;
  const auto deadline = SteadyClock::now() + timeout;
  char buf[8192];
  while (out.size() < want) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left <= 0ms) break;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0)
      out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EAGAIN)
      break;
  }
  return out;
}

#endif

}  // namespace

TEST_CASE("serial sink: lines reach a file, whole and in order", "[serial]") {
  TempDir dir;
  const std::string path = dir.file("console.log");
  SerialConsoleSink sink(path, fastOptions(256));
  CHECK(sink.device() == path);
  for (int n = 1; n <= 200; ++n) sink.post(lineN(n));
  REQUIRE(sink.flush(kPatience));
  CHECK(slurp(path) == linesFrom(1, 200));
  CHECK(sink.written() == 200);
  CHECK(sink.dropped() == 0);
  CHECK(sink.queued() == 0);
  CHECK(sink.writeErrors() == 0);
  CHECK(sink.backoff() == 0ms);
}

TEST_CASE("serial sink: a line without newline gets one, an oversized one is cut", "[serial]") {
  auto dev = std::make_shared<FakeDevice>();
  SerialConsoleSink sink("fake", fastOptions(8), fakeFactory(dev));
  sink.post("no newline");
  sink.post(std::string(5000, 'z'));
  const std::string fullSize = std::string(kSerialLineMax - 1, 'f') + "\n";
  sink.post(fullSize);
  REQUIRE(sink.flush(kPatience));
  std::string out = dev->output();
  CHECK(out.rfind("no newline\n", 0) == 0);
  CHECK(out.substr(11, kSerialLineMax) == std::string(kSerialLineMax - 1, 'z') + "\n");
  CHECK(out.substr(11 + kSerialLineMax) == fullSize);  // exactly 1 KiB is kept whole
}

TEST_CASE("serial sink: drops the oldest lines and says how many", "[serial]") {
  auto dev = std::make_shared<FakeDevice>();
  dev->mode = SerialWriteStatus::Unavailable;
  SerialConsoleSink sink("fake", fastOptions(4), fakeFactory(dev));
  for (int n = 1; n <= 10; ++n) sink.post(lineN(n));

  // Whatever the writer was attempting goes back in line, so exactly the newest four
  // survive.
  REQUIRE(waitUntil([&] { return sink.writeErrors() > 0; }));
  REQUIRE(waitUntil([&] { return sink.dropped() == 6 && sink.queued() == 4; }));
  CHECK_FALSE(sink.flush(20ms));  // bounded even though nothing can be written

  dev->set(SerialWriteStatus::Written);
  REQUIRE(sink.flush(kPatience));
  CHECK(dev->output() == formatSerialDropLine(kTime, 6) + linesFrom(7, 10));
  CHECK(sink.written() == 4);
  CHECK(sink.dropped() == 6);
  CHECK(sink.queued() == 0);

  // The count restarts after each notice.
  dev->set(SerialWriteStatus::Unavailable);
  for (int n = 11; n <= 16; ++n) sink.post(lineN(n));
  REQUIRE(waitUntil([&] { return sink.dropped() == 8 && sink.queued() == 4; }));
  dev->set(SerialWriteStatus::Written);
  REQUIRE(sink.flush(kPatience));
  CHECK(dev->output() == formatSerialDropLine(kTime, 6) + linesFrom(7, 10) +
                             formatSerialDropLine(kTime, 2) + linesFrom(13, 16));
}

TEST_CASE("serial sink: partial writes continue the same line", "[serial]") {
  auto dev = std::make_shared<FakeDevice>();
  dev->chunk = 7;
  dev->blockEveryOther = true;
  SerialConsoleSink sink("fake", fastOptions(64), fakeFactory(dev));
  for (int n = 1; n <= 20; ++n) sink.post(lineN(n));
  REQUIRE(sink.flush(kPatience));
  CHECK(dev->output() == linesFrom(1, 20));
  CHECK(sink.written() == 20);
  CHECK(sink.dropped() == 0);
  CHECK(sink.writeErrors() > 0);
}

TEST_CASE("serial sink: a line in progress is finished before anything is dropped", "[serial]") {
  auto dev = std::make_shared<FakeDevice>();
  dev->budget = 10;  // the device stalls mid-line
  SerialConsoleSink sink("fake", fastOptions(2), fakeFactory(dev));
  sink.post(lineN(1));
  REQUIRE(waitUntil([&] { return sink.writeErrors() > 0; }));
  CHECK(dev->output() == lineN(1).substr(0, 10));
  for (int n = 2; n <= 9; ++n) sink.post(lineN(n));
  CHECK(sink.dropped() == 6);
  CHECK(sink.queued() == 3);
  dev->setBudget(SIZE_MAX);
  REQUIRE(sink.flush(kPatience));
  // Line 1 completes, then the notice, then the two newest lines.
  CHECK(dev->output() == lineN(1) + formatSerialDropLine(kTime, 6) + linesFrom(8, 9));
}

TEST_CASE("serial sink: retries back off, doubling to the cap, and reset on success", "[serial]") {
  auto dev = std::make_shared<FakeDevice>();
  dev->mode = SerialWriteStatus::Unavailable;
  SerialSinkOptions o = fastOptions(4);
  o.initialBackoff = 2ms;
  o.maxBackoff = 16ms;
  SerialConsoleSink sink("fake", o, fakeFactory(dev));
  sink.post(lineN(1));
  REQUIRE(waitUntil([&] { return sink.writeErrors() >= 7; }));
  CHECK(sink.backoff() == 16ms);
  {
    std::lock_guard lock(dev->mutex);
    // Gaps between attempts are at least 2, 4, 8, 16, 16 ms (never shorter; longer
    // only if the machine is slow).
    const Duration expected[] = {2ms, 4ms, 8ms, 16ms, 16ms, 16ms};
    REQUIRE(dev->attempts.size() >= 7);
    for (std::size_t k = 0; k < 6; ++k) {
      CHECK(dev->attempts[k + 1] - dev->attempts[k] >= expected[k]);
    }
    CHECK(dev->portsMade == 1);  // the port reopens itself; the sink keeps it
  }
  dev->set(SerialWriteStatus::Written);
  REQUIRE(sink.flush(kPatience));
  CHECK(sink.backoff() == 0ms);
  CHECK(dev->output() == lineN(1));
}

TEST_CASE("serial sink: a factory that fails is retried", "[serial]") {
  auto dev = std::make_shared<FakeDevice>();
  int calls = 0;
  SerialPortFactory flaky =
      [&, dev](const std::string& path) -> std::unique_ptr<platform::SerialPort> {
    if (++calls < 3) return nullptr;
    return std::make_unique<FakePort>(dev, path);
  };
  SerialConsoleSink sink("fake", fastOptions(4), flaky);
  sink.post(lineN(1));
  REQUIRE(sink.flush(kPatience));
  CHECK(dev->output() == lineN(1));
  CHECK(sink.writeErrors() == 2);
}

TEST_CASE("serial sink: stop() is idempotent, posting afterwards only counts drops", "[serial]") {
  auto dev = std::make_shared<FakeDevice>();
  SerialConsoleSink sink("fake", fastOptions(4), fakeFactory(dev));
  sink.post(lineN(1));
  REQUIRE(sink.flush(kPatience));
  sink.stop();
  sink.stop();
  sink.post(lineN(2));
  CHECK(sink.dropped() == 1);
  CHECK(sink.queued() == 0);
  CHECK(sink.flush(10ms));  // nothing pending
  CHECK(dev->output() == lineN(1));
}

#ifndef _WIN32  // FIFOs and ptys; Windows named pipes are in test_serial_port_windows.cpp

TEST_CASE("serial sink: a FIFO without reader never blocks post(), a reader gets the rest",
          "[serial]") {
  TempDir dir;
  const std::string fifo = dir.file("ttyS0-standin");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  SerialConsoleSink sink(fifo, fastOptions(8));
  for (int n = 1; n <= 100; ++n) sink.post(lineN(n));  // returns: nothing waits on the FIFO
  REQUIRE(waitUntil([&] { return sink.dropped() == 92 && sink.queued() == 8; }));
  REQUIRE(waitUntil([&] { return sink.writeErrors() > 0; }));
  CHECK(sink.written() == 0);

  // The device appears: a reader attaches and receives what was kept.
  int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  REQUIRE(sink.flush(kPatience));
  const std::string expected = formatSerialDropLine(kTime, 92) + linesFrom(93, 100);
  CHECK(readAtLeast(reader, expected.size()) == expected);
  CHECK(sink.written() == 8);

  // The reader leaves again (EPIPE, no SIGPIPE death); later lines wait for the next.
  ::close(reader);
  const auto errorsBefore = sink.writeErrors();
  sink.post(lineN(101));
  REQUIRE(waitUntil([&] { return sink.writeErrors() > errorsBefore; }));
  CHECK(sink.queued() == 1);
  reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  REQUIRE(sink.flush(kPatience));
  CHECK(readAtLeast(reader, lineN(101).size()) == lineN(101));
  ::close(reader);
}

TEST_CASE("serial sink: a pty nobody reads stays bounded and stops promptly", "[serial]") {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave = ::ptsname(master);

  constexpr std::size_t kCapacity = 16;
  auto sink = std::make_unique<SerialConsoleSink>(slave, fastOptions(kCapacity));
  auto bigLine = [](int n) {
    return formatSerialLine(
        agentSerialEvent(kTime, "INFO", "line " + std::to_string(n) + " " + std::string(900, '.')));
  };
  // Keep posting until the pty's buffer is full and a write times out.
  std::size_t maxQueued = 0;
  std::uint64_t posted = 0;
  const auto deadline = SteadyClock::now() + kPatience;
  while (sink->writeErrors() == 0 && SteadyClock::now() < deadline) {
    for (int k = 0; k < 64; ++k) {
      sink->post(bigLine(static_cast<int>(++posted)));
      maxQueued = std::max(maxQueued, sink->queued());
    }
    std::this_thread::yield();
  }
  REQUIRE(sink->writeErrors() > 0);
  CHECK(maxQueued <= kCapacity + 1);  // the queue plus the line being written
  for (int k = 0; k < 1000; ++k) sink->post(bigLine(static_cast<int>(++posted)));
  CHECK(sink->queued() <= kCapacity + 1);
  CHECK(sink->dropped() > 0);
  CHECK(waitUntil([&] { return sink->dropped() + sink->written() + sink->queued() == posted; }));

  // The writer sits in a bounded wait, not in a blocking write: stop() returns.
  const auto before = SteadyClock::now();
  sink->stop();
  CHECK(SteadyClock::now() - before < 2s);  // generous; the write timeout is 20 ms
  sink.reset();

  // What got through is whole lines in order (the last may be cut by stop()).
  std::string got = readAtLeast(master, SIZE_MAX, 200ms);
  ::close(master);
  REQUIRE_FALSE(got.empty());
  std::istringstream in(got);
  std::string line;
  int previous = 0;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: the line stop() interrupted
    const std::string head = "guestpulse: 2026-11-22T22:00:00Z ";
    REQUIRE(line.rfind(head, 0) == 0);
    if (line.find("dropped") != std::string::npos) continue;
    auto pos = line.find("msg=\"line ");
    REQUIRE(pos != std::string::npos);
    int n = std::stoi(line.substr(pos + 10));
    CHECK(n > previous);
    previous = n;
    CHECK(line + "\n" == bigLine(n));
  }
}

TEST_CASE("serial sink: a slow pty reader gets every byte of long lines", "[serial]") {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave = ::ptsname(master);

  std::string expected;
  {
    SerialConsoleSink sink(slave, fastOptions(512));
    for (int n = 1; n <= 400; ++n) {
      std::string line = formatSerialLine(
          agentSerialEvent(kTime, "INFO", std::to_string(n) + std::string(900, 'a' + n % 26)));
      expected += line;
      sink.post(line);
    }
    // The pty fills up mid-line again and again; reading makes room.
    std::string got = readAtLeast(master, expected.size());
    CHECK(got == expected);
    CHECK(sink.flush(kPatience));
    CHECK(sink.dropped() == 0);
    CHECK(sink.written() == 400);
  }
  ::close(master);
}

TEST_CASE("serial sink: the device file deleted and recreated", "[serial]") {
  TempDir dir;
  const std::string path = dir.file("console.log");
  SerialConsoleSink sink(path, fastOptions(8));
  sink.post(lineN(1));
  REQUIRE(sink.flush(kPatience));
  CHECK(slurp(path) == lineN(1));

  fs::remove(path);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);  // recreated as a FIFO, reader not yet there
  sink.post(lineN(2));
  REQUIRE(waitUntil([&] { return sink.writeErrors() > 0; }));
  CHECK(sink.queued() == 1);

  int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  REQUIRE(sink.flush(kPatience));
  CHECK(readAtLeast(reader, lineN(2).size()) == lineN(2));
  ::close(reader);

  fs::remove(path);  // gone for good: recreated as a regular file on the next line
  sink.post(lineN(3));
  REQUIRE(sink.flush(kPatience));
  CHECK(slurp(path) == lineN(3));
}

#endif  // _WIN32
