// Windows locations: configuration and state under %ProgramData%\guestpulse, the first
// serial port (COM1) as the console GCE, EC2 and Azure capture, and the files Google's
// guest agent writes under %ProgramData%\Google.
//
// %ProgramData% comes from the known-folder API rather than the environment: a service's
// environment is the SCM's, which need not match what an administrator sees (wine's SCM,
// for one, hands services C:\users\Public).

#include <shlobj.h>
#include <windows.h>

#include <filesystem>

#include "platform/paths.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {
namespace {

std::string programData() {
  static const std::string dir = [] {
    PWSTR path = nullptr;
    std::string found;
    if (SUCCEEDED(::SHGetKnownFolderPath(FOLDERID_ProgramData, KF_FLAG_DEFAULT, nullptr, &path)) &&
        path)
      found = win::toUtf8(path);
    ::CoTaskMemFree(path);
    if (found.empty()) found = win::environmentVariable(L"ProgramData");
    if (found.empty()) found = "C:\\ProgramData";
    return found;
  }();
  return dir;
}

bool fileExists(const std::string& path) {
  DWORD attributes = ::GetFileAttributesW(win::toWide(path).c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && !(attributes & FILE_ATTRIBUTE_DIRECTORY);
}

// The guest agent's mTLS directory is spelled "Compute Engine" in Google's documentation
// and "ComputeEngine" by some agent versions; take the one that holds the file, else the
// documented one (so the message names the path the documentation names).
std::string googleFile(const char* name) {
  const std::string documented = programData() + "\\Google\\Compute Engine\\" + name;
  const std::string compact = programData() + "\\Google\\ComputeEngine\\" + name;
  if (!fileExists(documented) && fileExists(compact)) return compact;
  return documented;
}

}  // namespace

std::string defaultConfigPath() { return programData() + "\\guestpulse\\guestpulse.yaml"; }

std::string defaultStateDir() { return programData() + "\\guestpulse\\state"; }

std::string defaultSerialDevice() { return "COM1"; }

std::string defaultMtlsRootCa() { return googleFile("mds-mtls-root.crt"); }

std::string defaultMtlsClientCert() { return googleFile("mds-mtls-client.key"); }

// Google's guest agent provisions managed workload certificates on Linux only; on Windows
// this is where the README tells operators to point their own refresher.
std::string defaultWorkloadCredentialsDir() {
  return programData() + "\\Google\\Compute Engine\\workload-spiffe-credentials";
}

}  // namespace guestpulse::platform
