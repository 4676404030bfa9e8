#pragma once
// How the daemon lives under the OS's service manager: systemd on Linux (Type=notify:
// READY/STATUS/STOPPING/WATCHDOG over $NOTIFY_SOCKET, no-ops when it is unset; stop and
// reload as signals), the Service Control Manager on Windows (START_PENDING → RUNNING →
// STOP_PENDING → STOPPED; STOP/SHUTDOWN/PRESHUTDOWN as stop requests; Ctrl-C from a
// console).

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace guestpulse::platform {

void notifyReady();
void notifyStatus(std::string_view status);
void notifyStopping();
void notifyReloading();
void notifyWatchdog();
// The watchdog interval the service manager expects pings within, if it set one.
std::optional<std::chrono::milliseconds> watchdogInterval();

// What the daemon does when the service manager or the operator asks. Both run on the
// daemon's io_context thread, whichever thread the request arrived on.
struct ServiceRequests {
  std::function<void()> stop;    // SIGTERM, SIGINT; SCM STOP, SHUTDOWN, PRESHUTDOWN; Ctrl-C
  std::function<void()> reload;  // SIGHUP (Windows has no equivalent)
};

// Delivers stop and reload requests while it exists. Linux: SIGTERM/SIGINT/SIGHUP through
// the io_context; Windows: the SCM's control handler and the console's Ctrl handler, which
// run on threads of their own and post onto the io_context. close() stops listening, so
// the io_context can run out of work.
class ServiceEvents {
 public:
  ServiceEvents(boost::asio::io_context& io, ServiceRequests requests);
  ~ServiceEvents();
  ServiceEvents(const ServiceEvents&) = delete;
  ServiceEvents& operator=(const ServiceEvents&) = delete;
  void close();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Runs `daemon` the way this OS runs a service and returns its exit code. Linux: calls it.
// Windows: when the SCM started the process, inside the service's main function with the
// status reported to the SCM; otherwise (a console) it calls it directly.
int runService(const std::function<int()>& daemon);

// Registering the agent with the service manager (Windows: `guestpulse service install`).
struct ServiceSetupResult {
  bool ok = false;
  std::string message;  // what was done, or why not
};
// Whether this OS registers services through the agent itself (Windows) rather than a
// package's unit file (Linux).
bool serviceSetupSupported();
ServiceSetupResult installService(const std::string& executable, const std::string& configPath);
ServiceSetupResult uninstallService();

}  // namespace guestpulse::platform
