#pragma once
// The service's registration: its name, what `service install` writes, and the command
// line the SCM starts it with. Pure helpers here are unit-tested; the SCM calls live in
// service_setup_windows.cpp.

#include <windows.h>

#include <string>
#include <vector>

namespace guestpulse::platform::win {

inline constexpr const wchar_t* kServiceName = L"guestpulse";
inline constexpr const wchar_t* kServiceDisplayName = L"guestpulse health agent";
inline constexpr const wchar_t* kServiceDescription =
    L"Watches the metadata server and what the VM depends on, and reports causes and fixes "
    L"through guest attributes, COM1 and the event log.";

// One argument quoted for CommandLineToArgvW / the C runtime: as is when it has no space,
// tab or quote, otherwise in quotes with backslashes before quotes doubled.
std::wstring quoteArgument(const std::wstring& argument);
// `"C:\Program Files\guestpulse\guestpulse.exe" run [-c "CONFIG"]`.
std::wstring serviceCommandLine(const std::wstring& executable, const std::wstring& configPath);

// Restart after 1 s, 2 s and 5 s (and 5 s for every later failure), the failure count
// reset after a day.
struct RecoveryPlan {
  DWORD resetSeconds = 24 * 60 * 60;
  std::vector<DWORD> restartDelaysMs = {1000, 2000, 5000};
};

// The Event Log source registration: the key under
// HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application.
inline constexpr const wchar_t* kEventSourceKey =
    L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\guestpulse";

}  // namespace guestpulse::platform::win
