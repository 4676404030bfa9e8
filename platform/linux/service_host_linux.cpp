// The daemon under systemd: signals for stop and reload, and systemd's notify protocol
// for a Type=notify service. With libsystemd we call
// sd_notify(); without it (a minimal build) we speak the protocol ourselves: one
// datagram of "KEY=VALUE\n" lines to the AF_UNIX socket named by $NOTIFY_SOCKET. Both
// are no-ops when $NOTIFY_SOCKET is unset, i.e. when not started by systemd.

#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/asio/signal_set.hpp>
#include <csignal>

#include "platform/service_host.hpp"

#ifdef GUESTPULSE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#endif

namespace guestpulse::platform {
namespace {

#ifdef GUESTPULSE_HAVE_SYSTEMD

void notify(const std::string& message) { sd_notify(0, message.c_str()); }

#else

void notify(const std::string& message) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  std::size_t len = std::strlen(path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (len >= sizeof addr.sun_path) return;
  // Only absolute paths and abstract names ('@' stands for the leading NUL) are valid.
  if (path[0] != '/' && path[0] != '@') return;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const auto addrLen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);

  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  // MSG_DONTWAIT: a stuck service manager must not stall the event loop.
  while (::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                  reinterpret_cast<const sockaddr*>(&addr), addrLen) < 0 &&
         errno == EINTR) {
  }
  ::close(fd);
}

#endif

// A STATUS value is one line: a newline would start a new (forged) assignment.
std::string oneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

}  // namespace

void notifyReady() { notify("READY=1"); }

void notifyStatus(std::string_view status) { notify("STATUS=" + oneLine(status)); }

void notifyStopping() { notify("STOPPING=1"); }

void notifyReloading() {
  // Type=notify-reload (systemd 253+) requires MONOTONIC_USEC with RELOADING=1; older
  // managers ignore the extra field. The caller sends READY=1 when the reload is done.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::uint64_t usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 +
                             static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notifyWatchdog() { notify("WATCHDOG=1"); }

std::optional<std::chrono::milliseconds> watchdogInterval() {
  std::uint64_t usec = 0;
#ifdef GUESTPULSE_HAVE_SYSTEMD
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
#else
  // Same rules as sd_watchdog_enabled(): WATCHDOG_USEC, and WATCHDOG_PID if set must
  // name this process (the variables may have been inherited from a parent).
  const char* value = std::getenv("WATCHDOG_USEC");
  if (value == nullptr) return std::nullopt;
  char* end = nullptr;
  usec = std::strtoull(value, &end, 10);
  if (end == value || *end != '\0' || usec == 0) return std::nullopt;
  if (const char* pid = std::getenv("WATCHDOG_PID")) {
    if (std::strtoll(pid, nullptr, 10) != static_cast<long long>(::getpid())) return std::nullopt;
  }
#endif
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::microseconds(usec));
}

// Signals arrive through asio's signal_set, so the handlers run on the io_context's
// thread. After close() the signals stay caught (and are ignored), so a second SIGTERM
// during the graceful stop cannot cut the flush short.
struct ServiceEvents::Impl {
  Impl(boost::asio::io_context& io, ServiceRequests r)
      : stop(io, SIGTERM, SIGINT), reload(io, SIGHUP), requests(std::move(r)) {}

  void waitStop() {
    stop.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (requests.stop) requests.stop();
      if (!closed) waitStop();
    });
  }
  void waitReload() {
    reload.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (requests.reload) requests.reload();
      if (!closed) waitReload();
    });
  }

  boost::asio::signal_set stop;
  boost::asio::signal_set reload;
  ServiceRequests requests;
  bool closed = false;
};

ServiceEvents::ServiceEvents(boost::asio::io_context& io, ServiceRequests requests)
    : impl_(std::make_unique<Impl>(io, std::move(requests))) {
  impl_->waitStop();
  impl_->waitReload();
}

ServiceEvents::~ServiceEvents() = default;

void ServiceEvents::close() {
  impl_->closed = true;
  boost::system::error_code ignored;
  impl_->stop.cancel(ignored);
  impl_->reload.cancel(ignored);
}

int runService(const std::function<int()>& daemon) { return daemon(); }

bool serviceSetupSupported() { return false; }

ServiceSetupResult installService(const std::string&, const std::string&) {
  return {false,
          "on Linux the package installs guestpulse as a systemd unit: systemctl enable --now "
          "guestpulse"};
}

ServiceSetupResult uninstallService() {
  return {false,
          "on Linux, stop the systemd unit (systemctl disable --now guestpulse) or "
          "remove the package"};
}

}  // namespace guestpulse::platform
