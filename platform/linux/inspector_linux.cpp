// The Linux PlatformInspector: files (/etc/hosts, /etc/resolv.conf, /etc/environment)
// here; the route query in inspector_route_linux.cpp; the firewall listing in
// inspector_firewall_linux.cpp.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "platform/common/hosts_file.hpp"
#include "platform/common/proxy_variables.hpp"
#include "platform/inspector.hpp"
#include "platform/linux/environment_file.hpp"
#include "platform/linux/resolver_config.hpp"

extern char** environ;

namespace guestpulse::platform {

// Defined in inspector_route_linux.cpp, inspector_firewall_linux.cpp and
// inspector_interception_linux.cpp. Declared here rather than in a header because nothing
// but this file may call them.
RouteFacts linuxRouteTo(const std::string& ipv4, std::chrono::milliseconds timeout);
FirewallFacts linuxFirewall(const std::string& ipv4, const RouteFacts& route,
                            const InspectorOptions& options);
InterceptionFacts linuxInterception(const InterceptionQuery& query,
                                    const InspectorOptions& options);

namespace {

constexpr std::size_t kMaxFileBytes = 1 << 20;

struct FileText {
  bool ok = false;
  std::string text;
  std::string error;
};

std::string errnoText(int error) { return std::system_category().message(error); }

// O_NONBLOCK and the regular-file check keep a FIFO or device put in place of a config
// file from hanging the pool thread; the size cap bounds memory.
FileText readSmallFile(const std::string& path) {
  FileText file;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    file.error = "open " + path + ": " + errnoText(errno);
    return file;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    file.error = path + " is not a regular file";
    ::close(fd);
    return file;
  }
  char buffer[16384];
  while (file.text.size() < kMaxFileBytes) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      file.error = "read " + path + ": " + errnoText(errno);
      ::close(fd);
      return file;
    }
    if (n == 0) break;
    file.text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (file.text.size() > kMaxFileBytes) file.text.resize(kMaxFileBytes);
  file.ok = true;
  return file;
}

std::string readLink(const std::string& path) {
  char target[4096];
  ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

std::string orDefault(const std::string& value, const char* fallback) {
  return value.empty() ? std::string(fallback) : value;
}

class LinuxInspector final : public Inspector {
 public:
  explicit LinuxInspector(InspectorOptions options) : options_(std::move(options)) {
    options_.hostsPath = orDefault(options_.hostsPath, "/etc/hosts");
    options_.resolverPath = orDefault(options_.resolverPath, "/etc/resolv.conf");
    options_.resolvedUpstreamPath =
        orDefault(options_.resolvedUpstreamPath, kSystemdResolvedUpstreamPath);
    options_.environmentFilePath = orDefault(options_.environmentFilePath, "/etc/environment");
    options_.socketTableDirectory = orDefault(options_.socketTableDirectory, "/proc/self/net");
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
    for (const auto& entry : hosts.entriesFor(name)) {
      facts.matchingLines.push_back(std::to_string(entry.line) + ": " + entry.rawLine);
    }
    for (const auto& bad : hosts.invalidLines()) {
      facts.invalidLines.push_back(std::to_string(bad.line) + ": " + bad.reason);
    }
    return facts;
  }

  ResolverFacts resolver() override {
    ResolverFacts facts;
    facts.source = options_.resolverPath;
    facts.linkTarget = readLink(facts.source);
    FileText file = readSmallFile(facts.source);
    if (!file.ok) {
      // A link into /run left behind by a stopped resolver is the usual way to lose DNS.
      facts.error = file.error;
      if (!facts.linkTarget.empty()) facts.error += " (a link to " + facts.linkTarget + ")";
      return facts;
    }
    facts.readable = true;
    ResolverConfig config = parseResolverConfig(file.text);
    facts.nameservers = config.nameservers;
    facts.search = config.search;
    facts.ndots = config.ndots;
    facts.timeoutSeconds = config.timeoutSeconds;
    facts.attempts = config.attempts;
    facts.warnings = config.warnings;
    if (!config.usesSystemdResolvedStub()) return facts;

    facts.localStub = true;
    facts.stubName = "systemd-resolved";
    facts.upstreamSource = options_.resolvedUpstreamPath;
    FileText upstream = readSmallFile(facts.upstreamSource);
    if (!upstream.ok) {
      facts.upstreamError = upstream.error + " (is systemd-resolved running?)";
      return facts;
    }
    facts.upstreamReadable = true;
    ResolverConfig upstreamConfig = parseResolverConfig(upstream.text);
    // This file lists every server resolved knows (global and per link), not only 3.
    facts.upstreamNameservers = upstreamConfig.nameservers;
    for (const auto& extra : upstreamConfig.ignoredNameservers) {
      facts.upstreamNameservers.push_back(extra);
    }
    return facts;
  }

  RouteFacts routeTo(const std::string& ipv4) override {
    return linuxRouteTo(ipv4, options_.queryTimeout);
  }

  ProxyFacts proxyEnvironment() override {
    ProxyFacts facts;
    EnvironmentMap process;
    for (char** entry = environ; entry && *entry; ++entry) {
      std::string_view text(*entry);
      auto equals = text.find('=');
      if (equals == std::string_view::npos) continue;
      process.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
    }
    facts.sources.push_back({"process environment", true, {}, proxyRelevantVariables(process)});

    ProxySource system{options_.environmentFilePath, false, {}, {}};
    FileText file = readSmallFile(system.name);
    if (file.ok) {
      system.readable = true;
      system.variables = proxyRelevantVariables(parseEnvironmentFile(file.text));
    } else {
      system.error = file.error;
    }
    facts.sources.push_back(std::move(system));
    return facts;
  }

  FirewallFacts firewall(const std::string& ipv4) override {
    return linuxFirewall(ipv4, routeTo(ipv4), options_);
  }

  InterceptionFacts interception(const InterceptionQuery& query) override {
    return linuxInterception(query, options_);
  }

 private:
  InspectorOptions options_;
};

}  // namespace

std::unique_ptr<Inspector> makeInspector(InspectorOptions options) {
  return std::make_unique<LinuxInspector>(std::move(options));
}

}  // namespace guestpulse::platform
