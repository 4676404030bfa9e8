// The daemon under the Service Control Manager, or in a console.
//
// runService() first offers the process to the SCM (StartServiceCtrlDispatcherW). When the
// SCM did not start it, that fails with ERROR_FAILED_SERVICE_CONTROLLER_CONNECT (1063) and
// the daemon runs in the console instead. As a service, the daemon runs in ServiceMain on
// the SCM's thread; its status goes START_PENDING → RUNNING (notifyReady) → STOP_PENDING
// (a stop request, or notifyStopping) → STOPPED with the daemon's exit code.
//
// Stop requests (SCM STOP, SHUTDOWN, PRESHUTDOWN; console Ctrl-C, Ctrl-Break, close, and
// shutdown) arrive on threads of their own. They are handed to the ServiceEvents that
// exists at the time, which posts them onto the daemon's io_context; a request that comes
// before it exists is kept and delivered when it is made.

#include <windows.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>

#include "platform/service_host.hpp"
#include "platform/windows/service_control.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {

namespace {

// How long the SCM should wait for each pending step before it thinks we hang. Start-up
// and the stop's bounded flush (5 s) take well under this.
constexpr DWORD kStartWaitHintMs = 30'000;
constexpr DWORD kStopWaitHintMs = 15'000;
// A console close gives the handler about 5 s before Windows ends the process.
constexpr DWORD kConsoleCloseWaitMs = 4'500;

struct HostState {
  std::mutex mutex;
  std::condition_variable finished;  // the daemon returned
  bool daemonDone = false;

  // Set while running as a service.
  SERVICE_STATUS_HANDLE statusHandle = nullptr;
  SERVICE_STATUS status{};

  // The live ServiceEvents' way to ask for a stop, or a stop that waits for one.
  std::function<void()> requestStop;
  bool stopPending = false;

  const std::function<int()>* daemon = nullptr;
  int exitCode = 0;
};

HostState& host() {
  static HostState state;
  return state;
}

// Caller holds the mutex.
void reportLocked(HostState& s, DWORD state, DWORD waitHint = 0) {
  if (!s.statusHandle) return;
  s.status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  if (state != s.status.dwCurrentState) s.status.dwCheckPoint = 0;
  s.status.dwCurrentState = state;
  s.status.dwControlsAccepted =
      state == SERVICE_RUNNING
          ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN
          : 0;
  const bool pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
  s.status.dwCheckPoint = pending ? s.status.dwCheckPoint + 1 : 0;
  s.status.dwWaitHint = pending ? waitHint : 0;
  ::SetServiceStatus(s.statusHandle, &s.status);
}

// From any thread: route a stop to the daemon, or keep it for the ServiceEvents to come.
void deliverStop() {
  HostState& s = host();
  std::lock_guard lock(s.mutex);
  if (s.status.dwCurrentState == SERVICE_RUNNING ||
      s.status.dwCurrentState == SERVICE_START_PENDING)
    reportLocked(s, SERVICE_STOP_PENDING, kStopWaitHintMs);
  if (s.requestStop)
    s.requestStop();
  else
    s.stopPending = true;
}

DWORD WINAPI controlHandler(DWORD control, DWORD, LPVOID, LPVOID) {
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
    case SERVICE_CONTROL_PRESHUTDOWN:
      deliverStop();
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

BOOL WINAPI consoleHandler(DWORD event) {
  switch (event) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
      deliverStop();
      return TRUE;
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT: {
      // Windows ends the process when this returns: give the graceful stop its time.
      deliverStop();
      HostState& s = host();
      std::unique_lock lock(s.mutex);
      s.finished.wait_for(lock, std::chrono::milliseconds(kConsoleCloseWaitMs),
                          [&] { return s.daemonDone; });
      return TRUE;
    }
    default:  // CTRL_LOGOFF_EVENT: a user logging off must not stop a service
      return FALSE;
  }
}

int runDaemon(const std::function<int()>& daemon) {
  int code = daemon();
  HostState& s = host();
  {
    std::lock_guard lock(s.mutex);
    s.daemonDone = true;
    s.exitCode = code;
  }
  s.finished.notify_all();
  return code;
}

void WINAPI serviceMain(DWORD, LPWSTR*) {
  HostState& s = host();
  SERVICE_STATUS_HANDLE handle =
      ::RegisterServiceCtrlHandlerExW(win::kServiceName, controlHandler, nullptr);
  if (!handle) return;  // the SCM times the start out and says so in its log
  {
    std::lock_guard lock(s.mutex);
    s.statusHandle = handle;
    reportLocked(s, SERVICE_START_PENDING, kStartWaitHintMs);
  }
  int code = runDaemon(*s.daemon);
  std::lock_guard lock(s.mutex);
  // A non-zero exit is a failure to the SCM, so the recovery actions (restart) apply.
  s.status.dwWin32ExitCode = code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
  s.status.dwServiceSpecificExitCode = static_cast<DWORD>(code);
  reportLocked(s, SERVICE_STOPPED);
  s.statusHandle = nullptr;  // invalid once STOPPED is reported
}

}  // namespace

void notifyReady() {
  HostState& s = host();
  std::lock_guard lock(s.mutex);
  if (s.status.dwCurrentState == SERVICE_START_PENDING) reportLocked(s, SERVICE_RUNNING);
}

// The SCM shows no free-form status; `sc query` says RUNNING and the state lives in the
// status file, the log and the guest attributes.
void notifyStatus(std::string_view) {}

void notifyStopping() {
  HostState& s = host();
  std::lock_guard lock(s.mutex);
  if (s.status.dwCurrentState != SERVICE_STOPPED)
    reportLocked(s, SERVICE_STOP_PENDING, kStopWaitHintMs);
}

void notifyReloading() {}

// While a step is pending, each ping moves the checkpoint on; otherwise nothing.
void notifyWatchdog() {
  HostState& s = host();
  std::lock_guard lock(s.mutex);
  if (s.status.dwCurrentState == SERVICE_START_PENDING ||
      s.status.dwCurrentState == SERVICE_STOP_PENDING)
    reportLocked(s, s.status.dwCurrentState, s.status.dwWaitHint);
}

// The SCM has no watchdog; its recovery actions restart a process that exits.
std::optional<std::chrono::milliseconds> watchdogInterval() { return std::nullopt; }

struct ServiceEvents::Impl {
  Impl(boost::asio::io_context& io, ServiceRequests r)
      : io(io), work(boost::asio::make_work_guard(io)), requests(std::move(r)) {}
  boost::asio::io_context& io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  ServiceRequests requests;
};

ServiceEvents::ServiceEvents(boost::asio::io_context& io, ServiceRequests requests)
    : impl_(std::make_unique<Impl>(io, std::move(requests))) {
  HostState& s = host();
  std::lock_guard lock(s.mutex);
  Impl* impl = impl_.get();
  s.requestStop = [impl] {
    boost::asio::post(impl->io, [impl] {
      if (impl->requests.stop) impl->requests.stop();
    });
  };
  if (s.stopPending) {
    s.stopPending = false;
    s.requestStop();
  }
  ::SetConsoleCtrlHandler(consoleHandler, TRUE);
}

ServiceEvents::~ServiceEvents() { close(); }

// Later requests are dropped (the stop is under way); Ctrl-C stays caught so a second one
// cannot cut the flush short.
void ServiceEvents::close() {
  HostState& s = host();
  std::lock_guard lock(s.mutex);
  s.requestStop = [] {};
  impl_->work.reset();
}

int runService(const std::function<int()>& daemon) {
  HostState& s = host();
  s.daemon = &daemon;
  SERVICE_TABLE_ENTRYW table[] = {{const_cast<LPWSTR>(win::kServiceName), serviceMain},
                                  {nullptr, nullptr}};
  if (::StartServiceCtrlDispatcherW(table)) return s.exitCode;
  // 1063: not started by the SCM, so a console (or a test): run here.
  return runDaemon(daemon);
}

}  // namespace guestpulse::platform
