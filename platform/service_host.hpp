#pragma once
// How the daemon talks to the service manager: systemd's sd_notify on Linux
// (READY/STATUS/STOPPING/WATCHDOG, a no-op when NOTIFY_SOCKET is unset), the Service
// Control Manager on Windows.

#include <chrono>
#include <optional>
#include <string_view>

namespace guestpulse::platform {

void notifyReady();
void notifyStatus(std::string_view status);
void notifyStopping();
void notifyReloading();
void notifyWatchdog();
// The watchdog interval the service manager expects pings within, if it set one.
std::optional<std::chrono::milliseconds> watchdogInterval();

}  // namespace guestpulse::platform
