// The Linux SerialPort: ttyS0 in production; a regular file, FIFO or pty in tests and
// demos. Every fd is non-blocking and every wait is a poll() with a deadline, so no
// call here can hang on a device nobody reads.
//
// SIGPIPE: a write to a FIFO whose reader went away raises SIGPIPE, and MSG_NOSIGNAL
// exists only for send() on sockets. Rather than rely on the process ignoring SIGPIPE
// (the daemon does, the unit tests do not), write() blocks SIGPIPE in the calling
// thread around the write and consumes a SIGPIPE it caused before unblocking, so the
// process-wide disposition does not matter.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "platform/serial_port.hpp"

namespace guestpulse::platform {
namespace {

std::string errnoText(int err) {
  std::string out;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* name = strerrorname_np(err)) out = name;
#endif
  if (out.empty()) out = "errno " + std::to_string(err);
  out += " (";
  out += std::strerror(err);
  out += ")";
  return out;
}

// "Never create files under /dev" (a typo in the device name must not leave a
// regular file where a tty should be). Judged by the directory the file would be
// created in, with symlinks resolved; the file itself is created with O_NOFOLLOW so a
// dangling symlink pointing into /dev cannot be followed either.
bool mayCreate(const std::string& device) {
  namespace fs = std::filesystem;
  fs::path parent = fs::path(device).parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  const std::string dir = fs::canonical(parent, ec).generic_string();
  if (ec) return false;  // no such directory: open(O_CREAT) would fail anyway
  return dir != "/dev" && dir.rfind("/dev/", 0) != 0;
}

// 115200 8N1, raw, ignore modem control lines (a console with no carrier must not
// hold writes back). Best effort: a pty or an odd UART may refuse some of it.
bool configureTty(int fd) {
  termios tio{};
  if (tcgetattr(fd, &tio) != 0) return false;
  cfmakeraw(&tio);
  tio.c_cflag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS);
  tio.c_cflag |= CS8 | CLOCAL | CREAD;
  tio.c_iflag &= ~(IXON | IXOFF | IXANY);
  cfsetispeed(&tio, B115200);
  cfsetospeed(&tio, B115200);
  return tcsetattr(fd, TCSANOW, &tio) == 0;
}

// Blocks SIGPIPE in this thread for the lifetime of the guard; on destruction,
// swallows a SIGPIPE that became pending meanwhile (unless one was already pending
// before, which belongs to someone else) and restores the previous mask.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipeSet;
    sigemptyset(&pipeSet);
    sigaddset(&pipeSet, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    alreadyPending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipeSet, &previous_);
  }
  ~SigpipeGuard() {
    if (!alreadyPending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        sigset_t pipeSet;
        sigemptyset(&pipeSet);
        sigaddset(&pipeSet, SIGPIPE);
        const timespec zero{0, 0};
        while (sigtimedwait(&pipeSet, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t previous_{};
  bool alreadyPending_ = false;
};

class LinuxSerialPort final : public SerialPort {
 public:
  explicit LinuxSerialPort(std::string device) : device_(std::move(device)) {}
  ~LinuxSerialPort() override { close(); }

  SerialWriteResult write(std::string_view data, std::chrono::milliseconds timeout) override {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + timeout;
    if (fd_ >= 0 && replacedOnDisk()) close();  // deleted or recreated: follow the path
    if (fd_ < 0) {
      if (auto err = open(); !err.empty()) return {SerialWriteStatus::Unavailable, 0, err};
    }

    SigpipeGuard sigpipe;
    std::size_t total = 0;
    while (total < data.size()) {
      ssize_t n = ::write(fd_, data.data() + total, data.size() - total);
      if (n > 0) {
        total += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        const int err = errno;
        close();
        return {SerialWriteStatus::Unavailable, total, "write " + device_ + ": " + errnoText(err)};
      }
      // Full (or a zero-byte write): wait for room, but only until the deadline.
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= std::chrono::milliseconds::zero()) break;
      pollfd pfd{fd_, POLLOUT, 0};
      int rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno != EINTR) {
        const int err = errno;
        close();
        return {SerialWriteStatus::Unavailable, total, "poll " + device_ + ": " + errnoText(err)};
      }
      if (rc == 0) break;
      // POLLERR/POLLHUP are not handled here: the next write() reports the real errno
      // (EPIPE for a FIFO without reader, EIO for a pty whose master closed).
    }
    if (total == 0 && !data.empty()) return {SerialWriteStatus::WouldBlock, 0, {}};
    return {SerialWriteStatus::Written, total, {}};
  }

  void close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  const std::string& device() const override { return device_; }

 private:
  // Returns an error message, empty on success.
  std::string open() {
    // O_APPEND matters only for regular files (several writers, or an operator's
    // `truncate`), and is harmless for ttys and FIFOs. O_NONBLOCK makes a FIFO without
    // reader fail with ENXIO instead of blocking in open(), and keeps a tty open from
    // waiting for carrier.
    constexpr int kFlags = O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_APPEND;
    int fd = ::open(device_.c_str(), kFlags);
    if (fd < 0 && errno == ENOENT) {
      const int openErr = errno;
      if (mayCreate(device_)) {
        fd = ::open(device_.c_str(), kFlags | O_CREAT | O_NOFOLLOW, 0640);
      } else {
        errno = openErr;
      }
    }
    if (fd < 0) return "open " + device_ + ": " + errnoText(errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return "fstat " + device_ + ": " + errnoText(err);
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      return "open " + device_ + ": is a directory";
    }
    if (::isatty(fd)) configureTty(fd);  // failure is not fatal: write what we can
    fd_ = fd;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    return {};
  }

  // The open fd no longer is what the path names: the file was deleted (and perhaps
  // recreated, e.g. a FIFO made anew or a log rotated). Writing on would go nowhere.
  bool replacedOnDisk() const {
    struct stat st {};
    if (::stat(device_.c_str(), &st) != 0) return true;
    return st.st_dev != dev_ || st.st_ino != ino_;
  }

  std::string device_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace

std::unique_ptr<SerialPort> openSerialPort(std::string device) {
  // Opening is deferred to the first write(): it is the writer thread that must be
  // able to wait and retry, not whoever constructs the sink.
  return std::make_unique<LinuxSerialPort>(std::move(device));
}

}  // namespace guestpulse::platform
