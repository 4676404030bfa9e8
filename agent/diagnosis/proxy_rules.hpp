#pragma once
// The proxy environment (http_proxy, https_proxy, all_proxy, no_proxy and their
// uppercase forms) evaluated without I/O over a map of variables: would a request from
// common software on this machine to host:port go through a proxy, and which one?
// guestpulse itself never uses a proxy; this answers the question for the other programs
// on the VM (the guest agent, gcloud, client libraries), which do.
//
// Contract (curl's rules, with one deliberate difference):
//  - scheme variables: `<scheme>_proxy` first, then `<SCHEME>_PROXY`, then `all_proxy`,
//    `ALL_PROXY`. Lowercase wins when both are set. An empty value counts as unset.
//  - HTTP_PROXY (uppercase): curl ignores it (httpoxy: a CGI program gets the request's
//    "Proxy:" header as HTTP_PROXY). Go, Python and most Google client libraries honour it
//    unless REQUEST_METHOD is set (they are running as CGI). We follow them by default
//    (ProxyRules::Common), because the question is what the VM's software does; choose
//    ProxyRules::Curl to get curl's exact behaviour.
//  - no_proxy before NO_PROXY (lowercase wins). Entries are separated by commas and/or
//    whitespace and compared case-insensitively, trailing dots ignored:
//      `*`                     every host;
//      `google.internal`, `.google.internal`, `*.google.internal`
//                              the domain itself and every subdomain, on a label boundary
//                              (`metadata.google.internal` yes, `xgoogle.internal` no);
//      `169.254.169.254`, `::1` that address literal only; names are never resolved, so
//                              this entry does not cover `metadata.google.internal`;
//      `169.254.0.0/16`, `fd00::/8`  every address literal inside the range;
//      `host:port`, `[::1]:80`  as above, but only for that port.
//  - a proxy value without a scheme ("proxy:3128") is returned as written.
// Never throws.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/host_facts.hpp"

namespace guestpulse {

using platform::EnvironmentMap;

enum class ProxyRules {
  Common,  // lowercase first, uppercase HTTP_PROXY honoured unless REQUEST_METHOD is set
  Curl,    // lowercase first, uppercase HTTP_PROXY never used
};

struct ProxySetting {
  std::string variable;  // "https_proxy"
  std::string value;     // "http://proxy.corp:3128"
};

// Names of the metadata server every check of the proxy environment is about.
inline const std::vector<std::string> kMetadataHosts = {"169.254.169.254",
                                                        "metadata.google.internal"};

struct ProxiedRequest {
  std::string host;    // "metadata.google.internal"
  std::string scheme;  // "http"
  std::uint16_t port = 80;
  ProxySetting proxy;  // the variable that sends it there
};

class ProxyEnvironment {
 public:
  explicit ProxyEnvironment(const EnvironmentMap& variables, ProxyRules rules = ProxyRules::Common);

  // The proxy a request for scheme://host:port would use, or nullopt for a direct request.
  // `scheme` is "http" or "https" (any other scheme consults only <scheme>_proxy and
  // all_proxy). `host` may be a name or an address literal, IPv6 with or without brackets.
  std::optional<std::string> proxyFor(std::string_view scheme, std::string_view host,
                                      std::uint16_t port) const;
  std::optional<ProxySetting> proxySettingFor(std::string_view scheme, std::string_view host,
                                              std::uint16_t port) const;

  // Whether no_proxy exempts host:port (regardless of whether any proxy is set).
  bool bypassesProxy(std::string_view host, std::uint16_t port) const;

  // Whether any proxy variable is set for `scheme` (before no_proxy is applied).
  std::optional<ProxySetting> configuredProxy(std::string_view scheme) const;
  // The no_proxy list in effect and the variable it came from ("" when unset).
  const std::string& noProxyValue() const { return noProxy_.value; }
  const std::string& noProxyVariable() const { return noProxy_.variable; }
  // Problems worth showing: "no_proxy and NO_PROXY differ; no_proxy wins", "invalid
  // no_proxy entry '169.254.0.0/40'", "HTTP_PROXY ignored: REQUEST_METHOD is set".
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Which requests to the metadata server would go through a proxy: each host in `hosts`
  // as http on port 80 and https on port 443. Empty when metadata traffic goes direct.
  std::vector<ProxiedRequest> metadataRequestsThroughProxy(
      const std::vector<std::string>& hosts = kMetadataHosts) const;

 private:
  struct NoProxyEntry;
  std::optional<ProxySetting> pick(std::initializer_list<const char*> names) const;

  EnvironmentMap variables_;
  ProxyRules rules_;
  ProxySetting noProxy_;
  std::vector<std::shared_ptr<const NoProxyEntry>> entries_;
  std::vector<std::string> warnings_;
};

}  // namespace guestpulse
