#pragma once
// A write-only handle on the serial console (ttyS0 / COM1) or any file, FIFO or pty
// standing in for it. Implementations never block longer than the timeout they are
// given: a device nobody reads (a full pty, a FIFO without reader) must not stall
// the caller.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace guestpulse::platform {

enum class SerialWriteStatus {
  Written,      // `written` bytes were accepted (may be fewer than asked)
  WouldBlock,   // nothing could be written before the timeout; try again later
  Unavailable,  // the device is gone or cannot be opened; reopen later
};

struct SerialWriteResult {
  SerialWriteStatus status = SerialWriteStatus::Written;
  std::size_t written = 0;
  std::string error;  // for Unavailable: what failed, e.g. "open /dev/ttyS0: ENXIO"
};

class SerialPort {
 public:
  virtual ~SerialPort() = default;
  // Opens the device if needed (a tty is set to 115200 8N1 raw; a path that does not
  // exist is created as a regular file) and writes as much of `data` as it can
  // within `timeout`.
  virtual SerialWriteResult write(std::string_view data, std::chrono::milliseconds timeout) = 0;
  virtual void close() = 0;
  virtual const std::string& device() const = 0;
};

std::unique_ptr<SerialPort> openSerialPort(std::string device);

}  // namespace guestpulse::platform
