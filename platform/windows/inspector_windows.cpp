// The Windows PlatformInspector: the hosts file and the proxy settings here; the DNS
// servers of each adapter (GetAdaptersAddresses) in inspector_dns_windows.cpp; the route
// (IP Helper) in inspector_route_windows.cpp; Windows Firewall (INetFwPolicy2) in
// inspector_firewall_windows.cpp.

// clang-format off
#include <winsock2.h>
#include <windows.h>
#include <winhttp.h>
// clang-format on
// objbase.h defines `interface` as a macro; RouteFacts has a member of that name.
#undef interface

#include "platform/common/hosts_file.hpp"
#include "platform/common/proxy_variables.hpp"
#include "platform/inspector.hpp"
#include "platform/windows/inspector_parts.hpp"
#include "platform/windows/win_text.hpp"
#include "platform/windows/winhttp_proxy.hpp"

namespace guestpulse::platform {

namespace {

constexpr DWORD kMaxFileBytes = 1 << 20;

struct FileText {
  bool ok = false;
  std::string text;
  std::string error;
};

FileText readSmallFile(const std::string& path) {
  FileText file;
  win::Handle h(::CreateFileW(win::toWide(path).c_str(), GENERIC_READ,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                              OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!h) {
    file.error = "open " + path + ": " + win::lastErrorText();
    return file;
  }
  if (::GetFileType(h.get()) != FILE_TYPE_DISK) {
    file.error = path + " is not a regular file";
    return file;
  }
  char buffer[16384];
  while (file.text.size() < kMaxFileBytes) {
    DWORD got = 0;
    if (!::ReadFile(h.get(), buffer, sizeof buffer, &got, nullptr)) {
      file.error = "read " + path + ": " + win::lastErrorText();
      return file;
    }
    if (got == 0) break;
    file.text.append(buffer, got);
  }
  if (file.text.size() > kMaxFileBytes) file.text.resize(kMaxFileBytes);
  file.ok = true;
  return file;
}

std::string defaultHostsPath() {
  std::string root = win::environmentVariable(L"SystemRoot");
  return (root.empty() ? std::string("C:\\Windows") : root) + "\\System32\\drivers\\etc\\hosts";
}

EnvironmentMap processEnvironment() {
  EnvironmentMap variables;
  wchar_t* block = ::GetEnvironmentStringsW();
  if (!block) return variables;
  for (const wchar_t* entry = block; *entry; entry += std::wcslen(entry) + 1) {
    std::wstring_view text(entry);
    // Entries such as "=C:=C:\\" (per-drive directories) start with '='.
    auto equals = text.find(L'=', 1);
    if (equals == std::wstring_view::npos) continue;
    variables.emplace(win::toUtf8(text.substr(0, equals)), win::toUtf8(text.substr(equals + 1)));
  }
  ::FreeEnvironmentStringsW(block);
  return variables;
}

ProxySource winHttpProxy() {
  ProxySource source{"WinHTTP", true, {}, {}};
  WINHTTP_PROXY_INFO info{};
  if (!::WinHttpGetDefaultProxyConfiguration(&info)) {
    source.readable = false;
    source.error = "WinHttpGetDefaultProxyConfiguration: " + win::lastErrorText();
    return source;
  }
  std::string proxy = info.lpszProxy ? win::toUtf8(info.lpszProxy) : "";
  std::string bypass = info.lpszProxyBypass ? win::toUtf8(info.lpszProxyBypass) : "";
  if (info.lpszProxy) ::GlobalFree(info.lpszProxy);
  if (info.lpszProxyBypass) ::GlobalFree(info.lpszProxyBypass);
  if (info.dwAccessType == WINHTTP_ACCESS_TYPE_NAMED_PROXY)
    source.variables = win::translateWinHttpProxy(proxy, bypass);
  return source;
}

std::string orDefault(const std::string& value, const std::string& fallback) {
  return value.empty() ? fallback : value;
}

class WindowsInspector final : public Inspector {
 public:
  explicit WindowsInspector(InspectorOptions options) : options_(std::move(options)) {
    options_.hostsPath = orDefault(options_.hostsPath, defaultHostsPath());
  }

  HostsFacts hostsEntry(const std::string& name) override {
    HostsFacts facts;
    facts.path = options_.hostsPath;
    facts.name = name;
    FileText file = readSmallFile(facts.path);
    if (!file.ok) {
      facts.error = file.error;
      return facts;
    }
    facts.readable = true;
    HostsFile hosts = HostsFile::parse(file.text);
    facts.entryCount = hosts.entries().size();
    facts.addresses = hosts.addressesFor(name);
    for (const auto& entry : hosts.entriesFor(name))
      facts.matchingLines.push_back(std::to_string(entry.line) + ": " + entry.rawLine);
    for (const auto& bad : hosts.invalidLines())
      facts.invalidLines.push_back(std::to_string(bad.line) + ": " + bad.reason);
    return facts;
  }

  ResolverFacts resolver() override { return win::adapterDnsServers(); }

  RouteFacts routeTo(const std::string& ipv4) override { return win::routeTo(ipv4); }

  ProxyFacts proxyEnvironment() override {
    ProxyFacts facts;
    facts.sources.push_back(
        {"process environment", true, {}, proxyRelevantVariables(processEnvironment())});
    facts.sources.push_back(winHttpProxy());
    return facts;
  }

  FirewallFacts firewall(const std::string& ipv4) override { return win::readFirewall(ipv4); }

  // Windows has no iptables/nft nat table to intercept connections with; a sidecar's
  // interception there would be a WFP redirect driver, which nothing here reads.
  InterceptionFacts interception(const InterceptionQuery&) override {
    InterceptionFacts facts;
    facts.readable = false;
    facts.error =
        "nat interception rules (iptables/nft) do not exist on Windows; redirects by a WFP "
        "driver are not read";
    return facts;
  }

 private:
  InspectorOptions options_;
};

}  // namespace

std::unique_ptr<Inspector> makeInspector(InspectorOptions options) {
  return std::make_unique<WindowsInspector>(std::move(options));
}

}  // namespace guestpulse::platform
