// The Windows SerialPort: COM1 in production (\\.\COM1, 115200 8N1); any other path is a
// file appended to (tests, demos), and \\.\pipe\NAME a named pipe.
//
// Every write is overlapped: WriteFile starts it, the wait is bounded by the caller's
// timeout, and at the deadline CancelIoEx stops it and we take what was written. The
// port's own write timeouts (SetCommTimeouts) bound it as well, but a driver that ignores
// them (or a virtual port without flow control) cannot hold the caller past its timeout.

#include <windows.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

#include "platform/serial_port.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {
namespace {

bool isComPort(const std::string& device) {
  if (device.size() < 4) return false;
  for (int i = 0; i < 3; ++i)
    if (std::toupper(static_cast<unsigned char>(device[i])) != "COM"[i]) return false;
  return std::all_of(device.begin() + 3, device.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool isDevicePath(const std::string& device) {
  return device.rfind("\\\\.\\", 0) == 0 || device.rfind("//./", 0) == 0;
}

// 115200 8N1, no flow control: a console with nothing attached must not hold writes back.
bool configurePort(HANDLE port) {
  DCB dcb{};
  dcb.DCBlength = sizeof dcb;
  if (!::GetCommState(port, &dcb)) return false;
  dcb.BaudRate = CBR_115200;
  dcb.ByteSize = 8;
  dcb.Parity = NOPARITY;
  dcb.StopBits = ONESTOPBIT;
  dcb.fBinary = TRUE;
  dcb.fParity = FALSE;
  dcb.fOutxCtsFlow = FALSE;
  dcb.fOutxDsrFlow = FALSE;
  dcb.fDtrControl = DTR_CONTROL_ENABLE;
  dcb.fRtsControl = RTS_CONTROL_ENABLE;
  dcb.fOutX = FALSE;
  dcb.fInX = FALSE;
  return ::SetCommState(port, &dcb) != 0;
}

class WindowsSerialPort final : public SerialPort {
 public:
  explicit WindowsSerialPort(std::string device) : device_(std::move(device)) {
    com_ = isComPort(device_);
  }
  ~WindowsSerialPort() override { close(); }

  SerialWriteResult write(std::string_view data, std::chrono::milliseconds timeout) override {
    if (!handle_) {
      if (auto err = open(); !err.empty()) return {SerialWriteStatus::Unavailable, 0, err};
    }
    if (data.empty()) return {SerialWriteStatus::Written, 0, {}};
    if (com_ && timeout != commTimeout_) {
      // The driver's own bound on a write; the overlapped wait below is ours.
      COMMTIMEOUTS timeouts{};
      timeouts.WriteTotalTimeoutConstant =
          static_cast<DWORD>(std::max<long long>(timeout.count(), 1));
      if (::SetCommTimeouts(handle_.get(), &timeouts)) commTimeout_ = timeout;
    }

    OVERLAPPED overlapped{};
    overlapped.hEvent = event_.get();
    if (!file_) {
      // Files opened for append write at the end whatever the offset says; pipes and
      // ports ignore it.
      overlapped.Offset = 0xFFFFFFFF;
      overlapped.OffsetHigh = 0xFFFFFFFF;
    }
    const DWORD size = static_cast<DWORD>(std::min<std::size_t>(data.size(), 1 << 20));
    DWORD written = 0;
    ::ResetEvent(event_.get());
    if (!::WriteFile(handle_.get(), data.data(), size, &written, &overlapped)) {
      const DWORD error = ::GetLastError();
      if (error != ERROR_IO_PENDING) return failed("write", error);
      const DWORD waitMs = static_cast<DWORD>(std::max<long long>(timeout.count(), 0));
      if (::WaitForSingleObject(event_.get(), waitMs) != WAIT_OBJECT_0) {
        ::CancelIoEx(handle_.get(), &overlapped);
      }
      // Waits for the cancellation to complete, so `overlapped` may go out of scope.
      if (!::GetOverlappedResult(handle_.get(), &overlapped, &written, TRUE)) {
        const DWORD result = ::GetLastError();
        if (result != ERROR_OPERATION_ABORTED && result != ERROR_TIMEOUT)
          return failed("write", result);
      }
    }
    if (written == 0) return {SerialWriteStatus::WouldBlock, 0, {}};
    return {SerialWriteStatus::Written, written, {}};
  }

  void close() override {
    handle_.reset();
    event_.reset();
    commTimeout_ = std::chrono::milliseconds(-1);
  }

  const std::string& device() const override { return device_; }

 private:
  SerialWriteResult failed(const char* what, DWORD error) {
    close();
    return {SerialWriteStatus::Unavailable, 0,
            std::string(what) + " " + device_ + ": " + win::errorText(error)};
  }

  // Returns an error message, empty on success.
  std::string open() {
    event_.reset(::CreateEventW(nullptr, TRUE, FALSE, nullptr));
    if (!event_) return "open " + device_ + ": CreateEvent: " + win::lastErrorText();
    std::string path = device_;
    if (com_) path = "\\\\.\\" + device_;
    const std::wstring wide = win::toWide(path);
    const DWORD share = com_ ? 0 : FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    // Read access too for a port: some serial drivers (wine's among them) refuse write-only
    // opens. Files are opened to append; a device (a pipe) needs plain write access, since
    // for pipes the append bit means "create an instance".
    const DWORD access = com_                 ? GENERIC_READ | GENERIC_WRITE
                         : isDevicePath(path) ? GENERIC_WRITE
                                              : FILE_APPEND_DATA | SYNCHRONIZE;
    HANDLE h = ::CreateFileW(wide.c_str(), access, share, nullptr, OPEN_EXISTING,
                             FILE_FLAG_OVERLAPPED, nullptr);
    if (h == INVALID_HANDLE_VALUE && ::GetLastError() == ERROR_FILE_NOT_FOUND && !com_ &&
        !isDevicePath(path)) {
      h = ::CreateFileW(wide.c_str(), access, share, nullptr, OPEN_ALWAYS,
                        FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, nullptr);
    }
    if (h == INVALID_HANDLE_VALUE) {
      const DWORD error = ::GetLastError();
      event_.reset();
      return "open " + device_ + ": " + win::errorText(error);
    }
    handle_.reset(h);
    file_ = ::GetFileType(h) == FILE_TYPE_DISK;
    if (com_) configurePort(h);  // failure is not fatal: write what we can
    return {};
  }

  std::string device_;
  bool com_ = false;
  bool file_ = false;
  win::Handle handle_;
  win::Handle event_;
  std::chrono::milliseconds commTimeout_{-1};
};

}  // namespace

std::unique_ptr<SerialPort> openSerialPort(std::string device) {
  // Opening is deferred to the first write(), on the writer thread.
  return std::make_unique<WindowsSerialPort>(std::move(device));
}

}  // namespace guestpulse::platform
