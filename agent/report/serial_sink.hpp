#pragma once
// SerialConsoleSink: hands finished serial lines (see serial_line.hpp) to the serial
// console without ever blocking the caller, the agent's single event-loop thread.
//
// Contract:
// - post() only takes a mutex held for O(1) work and returns. Lines wait in a queue of
//   at most `capacity` lines; when it is full the OLDEST waiting line is dropped and
//   counted. Lines are written whole and in order.
// - A dedicated writer thread writes through platform::SerialPort with `writeTimeout`
//   per attempt. When the device blocks (a pty or FIFO nobody reads), is missing, or
//   fails, lines stay queued (still bounded, drop-oldest) and the writer retries after
//   a backoff that doubles from `initialBackoff` up to `maxBackoff` and resets after
//   any progress. The port reopens the device itself on the next write after a
//   failure (SerialPort::write "opens the device if needed").
// - A line the device accepted only in part is continued from where it stopped on the
//   next attempt, never restarted and never dropped, so lines are not garbled.
// - After drops, before the next line, the writer emits one
//   `guestpulse: <time> WARN msg="serial console dropped N lines"`, N counting the
//   drops since the previous such line.
// - flush(bound) waits at most `bound` for everything posted to be written; stop()
//   ends the writer and joins it. Neither can hang on a blocked device: the writer is
//   only ever inside one write attempt, which the port bounds by `writeTimeout`, so
//   stop() returns within about `writeTimeout`. Lines still queued at stop() are not
//   written and stay counted in queued(); lines posted after stop() are counted as
//   dropped. The destructor calls stop().
// - Counters are readable from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/core/duration.hpp"
#include "platform/serial_port.hpp"

namespace guestpulse {

struct SerialSinkOptions {
  std::size_t capacity = 64;  // lines waiting, >= 1
  Duration writeTimeout = std::chrono::milliseconds(200);
  Duration initialBackoff = std::chrono::milliseconds(100);
  Duration maxBackoff = std::chrono::seconds(5);
  // Time stamped on the "dropped N lines" line; system clock when empty.
  std::function<WallTime()> wallClock;
};

// Makes the port for a device; tests inject fakes. May return nullptr, which counts as
// a failed attempt and is retried with backoff.
using SerialPortFactory =
    std::function<std::unique_ptr<platform::SerialPort>(const std::string& device)>;

class SerialConsoleSink {
 public:
  // Starts the writer thread. The port is created by `factory` (platform::openSerialPort
  // when empty) on the writer thread, at its first write.
  explicit SerialConsoleSink(std::string device, SerialSinkOptions options = {},
                             SerialPortFactory factory = {});
  ~SerialConsoleSink();

  SerialConsoleSink(const SerialConsoleSink&) = delete;
  SerialConsoleSink& operator=(const SerialConsoleSink&) = delete;

  // Queues one line (normally from formatSerialLine). A missing trailing '\n' is
  // added and a longer line is cut to kSerialLineMax bytes, so memory stays bounded
  // at about capacity KiB. Never blocks on the device.
  void post(std::string line);

  // Waits at most `bound` until every posted line (and pending drop notice) has been
  // written; true if that happened. Also cuts a pending backoff short, so a flush at
  // shutdown tries the device once more right away.
  bool flush(Duration bound);

  // Stops and joins the writer; idempotent.
  void stop();

  // Posted lines fully written (drop notices are not counted).
  std::uint64_t written() const { return written_.load(); }
  // Lines dropped, oldest first, because the queue was full (or posted after stop()).
  std::uint64_t dropped() const { return dropped_.load(); }
  // Write attempts that timed out, found the device unavailable, or made no progress.
  std::uint64_t writeErrors() const { return writeErrors_.load(); }
  // Lines posted and not yet fully written, including the one being written.
  std::size_t queued() const { return queued_.load(); }
  // The wait before the next attempt after a failed one: zero while the device takes
  // data, then initialBackoff, doubling up to maxBackoff.
  Duration backoff() const;
  const std::string& device() const { return device_; }

 private:
  struct InFlight {
    std::string text;
    std::size_t offset = 0;     // bytes already accepted by the device
    bool dropNotice = false;    // the "dropped N lines" line rather than a posted one
    std::uint64_t reports = 0;  // for a drop notice: how many drops it reports
  };

  void run();
  // Called with the lock held; picks the next line to write if none is in flight.
  bool takeNext();
  // Called with the lock held after an attempt that made no progress.
  void giveBack();
  void updateQueued();
  WallTime wallNow() const;
  bool idle() const;  // lock held: nothing left to write

  const std::string device_;
  const SerialSinkOptions options_;
  const SerialPortFactory factory_;
  std::unique_ptr<platform::SerialPort> port_;  // writer thread only

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // writer: work arrived, stop, or flush
  std::condition_variable drained_;  // flush(): progress was made
  std::deque<std::string> queue_;
  std::optional<InFlight> inFlight_;  // set and cleared by the writer, under the lock
  std::uint64_t unreportedDrops_ = 0;
  bool stopping_ = false;
  SteadyTime retryAt_{};
  Duration backoff_{};

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> writeErrors_{0};
  std::atomic<std::size_t> queued_{0};

  std::thread writer_;  // last: started after every member above is ready
};

}  // namespace guestpulse
