// Fuzz target: the host evidence parsers: /etc/hosts, resolv.conf, /etc/environment,
// the proxy environment (curl's rules), iptables-save text and nft's JSON ruleset. The
// first byte picks the parser, the rest is its input.

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/diagnosis/proxy_rules.hpp"
#include "platform/common/hosts_file.hpp"
#include "platform/linux/environment_file.hpp"
#include "platform/linux/firewall_scan.hpp"
#include "platform/linux/resolver_config.hpp"

using namespace guestpulse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto hosts = platform::HostsFile::parse(text);
      (void)hosts.addressesFor("metadata.google.internal");
      (void)hosts.entriesForAddress("169.254.169.254");
      break;
    }
    case 1: {
      auto resolver = platform::parseResolverConfig(text);
      (void)resolver.usesSystemdResolvedStub();
      break;
    }
    case 2: {
      auto environment = platform::parseEnvironmentFile(text);
      ProxyEnvironment proxies(environment);
      (void)proxies.proxyFor("http", "metadata.google.internal", 80);
      (void)proxies.proxyFor("https", "169.254.169.254", 443);
      (void)proxies.bypassesProxy("metadata.google.internal", 80);
      break;
    }
    case 3:
      (void)platform::scanIptablesRules(text, "169.254.169.254");
      break;
    case 4:
      (void)platform::scanNftRuleset(text, "169.254.169.254");
      break;
  }
  return 0;
}
