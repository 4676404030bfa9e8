// `guestpulse service install|uninstall`: registers the service with the SCM (automatic,
// delayed start; restarted after a failure; STOP during shutdown gets the PRESHUTDOWN
// notice), registers the Event Log source with guestpulse.exe's message table, and starts
// it; uninstall stops it (bounded), deletes it and the Event Log source.
//
// Settings that are not essential (description, delayed start, recovery) are applied one
// by one; a failure becomes a warning in the result's message rather than a failed
// install. Wine, for one, refuses delayed start and the failure-actions flag.

#include <windows.h>

#include <chrono>
#include <thread>

#include "platform/paths.hpp"
#include "platform/service_host.hpp"
#include "platform/windows/service_control.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {

namespace win {

std::wstring quoteArgument(const std::wstring& argument) {
  if (!argument.empty() && argument.find_first_of(L" \t\"") == std::wstring::npos) return argument;
  std::wstring out = L"\"";
  std::size_t backslashes = 0;
  for (wchar_t c : argument) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    if (c == L'"') {
      out.append(backslashes * 2 + 1, L'\\');
    } else {
      out.append(backslashes, L'\\');
    }
    backslashes = 0;
    out += c;
  }
  out.append(backslashes * 2, L'\\');  // before the closing quote
  out += L'"';
  return out;
}

std::wstring serviceCommandLine(const std::wstring& executable, const std::wstring& configPath) {
  // The executable is always quoted: an unquoted path with spaces lets Windows try
  // C:\Program.exe first (CWE-428).
  std::wstring line = L"\"" + executable + L"\" run";
  if (!configPath.empty()) line += L" -c " + quoteArgument(configPath);
  return line;
}

}  // namespace win

namespace {

using win::Handle;

struct ScHandle {
  SC_HANDLE h = nullptr;
  explicit ScHandle(SC_HANDLE handle) : h(handle) {}
  ~ScHandle() {
    if (h) ::CloseServiceHandle(h);
  }
  ScHandle(const ScHandle&) = delete;
  ScHandle& operator=(const ScHandle&) = delete;
  explicit operator bool() const { return h != nullptr; }
};

std::string failure(const std::string& what) { return what + ": " + win::lastErrorText(); }

void applyOptionalSettings(SC_HANDLE service, std::vector<std::string>& warnings) {
  SERVICE_DESCRIPTIONW description{const_cast<LPWSTR>(win::kServiceDescription)};
  if (!::ChangeServiceConfig2W(service, SERVICE_CONFIG_DESCRIPTION, &description))
    warnings.push_back(failure("description not set"));

  SERVICE_DELAYED_AUTO_START_INFO delayed{TRUE};
  if (!::ChangeServiceConfig2W(service, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed))
    warnings.push_back(failure("delayed automatic start not set (it starts with the others)"));

  win::RecoveryPlan plan;
  std::vector<SC_ACTION> actions;
  for (DWORD delay : plan.restartDelaysMs) actions.push_back({SC_ACTION_RESTART, delay});
  SERVICE_FAILURE_ACTIONSW failureActions{};
  failureActions.dwResetPeriod = plan.resetSeconds;
  failureActions.cActions = static_cast<DWORD>(actions.size());
  failureActions.lpsaActions = actions.data();
  if (!::ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS, &failureActions))
    warnings.push_back(failure("restart on failure not set"));
  // Without this flag only a crash counts as a failure, not a non-zero exit code.
  SERVICE_FAILURE_ACTIONS_FLAG onExitCode{TRUE};
  if (!::ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &onExitCode))
    warnings.push_back(failure("restart after a non-zero exit not set"));

  // Time for the bounded flush when Windows shuts down.
  SERVICE_PRESHUTDOWN_INFO preshutdown{15'000};
  if (!::ChangeServiceConfig2W(service, SERVICE_CONFIG_PRESHUTDOWN_INFO, &preshutdown))
    warnings.push_back(failure("pre-shutdown timeout not set"));
}

std::string registerEventSource(const std::wstring& executable) {
  HKEY key = nullptr;
  LONG rc = ::RegCreateKeyExW(HKEY_LOCAL_MACHINE, win::kEventSourceKey, 0, nullptr, 0,
                              KEY_SET_VALUE, nullptr, &key, nullptr);
  if (rc != ERROR_SUCCESS) return "event log source not registered: " + win::errorText(rc);
  const DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
  rc = ::RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ,
                        reinterpret_cast<const BYTE*>(executable.c_str()),
                        static_cast<DWORD>((executable.size() + 1) * sizeof(wchar_t)));
  if (rc == ERROR_SUCCESS)
    rc = ::RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD,
                          reinterpret_cast<const BYTE*>(&types), sizeof types);
  ::RegCloseKey(key);
  return rc == ERROR_SUCCESS ? "" : "event log source not registered: " + win::errorText(rc);
}

// Waits until the service reaches `state`, or leaves the pending states (when `settled`),
// or `limit` passes. Returns the last status seen.
SERVICE_STATUS waitForState(SC_HANDLE service, DWORD state, std::chrono::milliseconds limit,
                            bool settled = false) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  SERVICE_STATUS status{};
  for (;;) {
    if (!::QueryServiceStatus(service, &status)) return status;
    const DWORD now = status.dwCurrentState;
    const bool pending = now == SERVICE_START_PENDING || now == SERVICE_STOP_PENDING;
    if (now == state || (settled && !pending) || std::chrono::steady_clock::now() >= deadline)
      return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::string stateName(DWORD state) {
  switch (state) {
    case SERVICE_STOPPED:
      return "stopped";
    case SERVICE_START_PENDING:
      return "starting";
    case SERVICE_STOP_PENDING:
      return "stopping";
    case SERVICE_RUNNING:
      return "running";
    default:
      return "state " + std::to_string(state);
  }
}

std::string joinWarnings(const std::vector<std::string>& warnings) {
  std::string out;
  for (const auto& w : warnings) out += "\n  warning: " + w;
  return out;
}

}  // namespace

bool serviceSetupSupported() { return true; }

ServiceSetupResult installService(const std::string& executable, const std::string& configPath) {
  if (executable.empty()) return {false, "cannot tell the path of guestpulse.exe"};
  const std::wstring exe = win::toWide(executable);
  // The default path is read anyway when it exists; naming it would make the service fail
  // to start until the file is there.
  const std::wstring config = configPath == defaultConfigPath() ? L"" : win::toWide(configPath);
  const std::wstring commandLine = win::serviceCommandLine(exe, config);

  ScHandle manager(
      ::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE));
  if (!manager) return {false, failure("cannot open the service manager (run as Administrator)")};

  std::vector<std::string> warnings;
  std::string done = "installed";
  ScHandle service(::CreateServiceW(manager.h, win::kServiceName, win::kServiceDisplayName,
                                    SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                                    SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, commandLine.c_str(),
                                    nullptr, nullptr, nullptr, nullptr, nullptr));
  if (!service && ::GetLastError() == ERROR_SERVICE_EXISTS) {
    // Installing again updates the command line (a moved binary, another config).
    service.h = ::OpenServiceW(manager.h, win::kServiceName, SERVICE_ALL_ACCESS);
    if (!service) return {false, failure("cannot open the existing guestpulse service")};
    if (!::ChangeServiceConfigW(service.h, SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                SERVICE_ERROR_NORMAL, commandLine.c_str(), nullptr, nullptr,
                                nullptr, nullptr, nullptr, win::kServiceDisplayName))
      return {false, failure("cannot update the guestpulse service")};
    done = "updated";
  } else if (!service) {
    return {false, failure("cannot create the guestpulse service")};
  }
  applyOptionalSettings(service.h, warnings);
  if (std::string error = registerEventSource(exe); !error.empty()) warnings.push_back(error);

  SERVICE_STATUS status{};
  bool running =
      ::QueryServiceStatus(service.h, &status) && status.dwCurrentState != SERVICE_STOPPED;
  if (!running && !::StartServiceW(service.h, 0, nullptr) &&
      ::GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
    return {false, "service " + done + " (" + win::toUtf8(commandLine) +
                       ") but not started: " + win::lastErrorText() + joinWarnings(warnings)};
  SERVICE_STATUS after = waitForState(service.h, SERVICE_RUNNING, std::chrono::seconds(30), true);
  if (after.dwCurrentState == SERVICE_STOPPED) {
    // It started and exited at once: most likely an invalid configuration (exit code 3).
    const DWORD code = after.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR
                           ? after.dwServiceSpecificExitCode
                           : after.dwWin32ExitCode;
    return {false, "service " + done + " (" + win::toUtf8(commandLine) +
                       "), but it stopped at once with exit code " + std::to_string(code) +
                       (code == 3 ? " (invalid configuration: guestpulse config validate)" : "") +
                       "; the Application event log (source guestpulse) says why" +
                       joinWarnings(warnings)};
  }
  std::string message =
      "service " + done + " and " +
      (running                                   ? std::string("already running")
       : after.dwCurrentState == SERVICE_RUNNING ? std::string("started")
                                                 : stateName(after.dwCurrentState)) +
      ": " + win::toUtf8(commandLine) + joinWarnings(warnings);
  return {true, message};
}

ServiceSetupResult uninstallService() {
  ScHandle manager(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!manager) return {false, failure("cannot open the service manager (run as Administrator)")};
  ScHandle service(
      ::OpenServiceW(manager.h, win::kServiceName, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE));
  if (!service) {
    if (::GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST)
      return {true, "no guestpulse service is installed"};
    return {false, failure("cannot open the guestpulse service")};
  }
  std::vector<std::string> warnings;
  SERVICE_STATUS status{};
  if (::ControlService(service.h, SERVICE_CONTROL_STOP, &status)) {
    if (waitForState(service.h, SERVICE_STOPPED, std::chrono::seconds(20)).dwCurrentState !=
        SERVICE_STOPPED)
      warnings.push_back("it did not stop within 20 s; it is removed once it stops");
  } else if (::GetLastError() != ERROR_SERVICE_NOT_ACTIVE) {
    warnings.push_back(failure("stop"));
  }
  if (!::DeleteService(service.h) && ::GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE)
    return {false, failure("cannot delete the guestpulse service") + joinWarnings(warnings)};
  LONG rc = ::RegDeleteKeyW(HKEY_LOCAL_MACHINE, win::kEventSourceKey);
  if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND)
    warnings.push_back("event log source not removed: " + win::errorText(rc));
  return {true, "service stopped and removed" + joinWarnings(warnings)};
}

}  // namespace guestpulse::platform
