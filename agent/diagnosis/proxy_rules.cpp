#include "agent/diagnosis/proxy_rules.hpp"

#include <algorithm>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <cctype>
#include <charconv>
#include <memory>

#include "platform/common/host_names.hpp"
#include "platform/common/text_fields.hpp"

namespace guestpulse {

namespace ip = boost::asio::ip;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::uint16_t> parsePort(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "[::1]" -> "::1"; names get the same normalisation as everywhere else.
std::string normalizeHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return platform::normalizeHostName(host);
}

}  // namespace

struct ProxyEnvironment::NoProxyEntry {
  enum class Kind { Everything, Domain, Address, Network } kind = Kind::Domain;
  std::string domain;  // Kind::Domain, normalised, no leading dot
  std::optional<ip::address> address;
  std::optional<ip::network_v4> network4;
  std::optional<ip::network_v6> network6;
  std::optional<std::uint16_t> port;

  static std::optional<NoProxyEntry> parse(std::string_view text) {
    NoProxyEntry entry;
    if (text == "*") {
      entry.kind = Kind::Everything;
      return entry;
    }
    // Split off ":port": "[v6]:port", "name:port", "v4:port". A bare IPv6 literal has
    // several colons and no brackets, so it never carries a port.
    std::string_view host = text;
    if (host.front() == '[') {
      auto close = host.find(']');
      if (close == std::string_view::npos) return std::nullopt;
      if (close + 1 < host.size()) {
        if (host[close + 1] != ':') return std::nullopt;
        entry.port = parsePort(host.substr(close + 2));
        if (!entry.port) return std::nullopt;
      }
      host = host.substr(1, close - 1);
    } else if (std::count(host.begin(), host.end(), ':') == 1) {
      auto colon = host.find(':');
      entry.port = parsePort(host.substr(colon + 1));
      if (!entry.port) return std::nullopt;
      host = host.substr(0, colon);
    }
    if (host.empty()) return std::nullopt;

    if (host.find('/') != std::string_view::npos) {
      boost::system::error_code ec;
      std::string cidr(host);
      auto v4 = ip::make_network_v4(cidr, ec);
      if (!ec) {
        entry.kind = Kind::Network;
        entry.network4 = v4.canonical();
        return entry;
      }
      ec = {};
      auto v6 = ip::make_network_v6(cidr, ec);
      if (ec) return std::nullopt;
      entry.kind = Kind::Network;
      entry.network6 = v6.canonical();
      return entry;
    }
    if (auto address = platform::parseIpAddress(host)) {
      entry.kind = Kind::Address;
      entry.address = address;
      return entry;
    }
    if (host.rfind("*.", 0) == 0) host.remove_prefix(1);
    while (!host.empty() && host.front() == '.') host.remove_prefix(1);
    entry.domain = platform::normalizeHostName(host);
    if (entry.domain.empty()) return std::nullopt;
    return entry;
  }

  bool matches(const std::string& host, const std::optional<ip::address>& hostAddress,
               std::uint16_t hostPort) const {
    if (port && *port != hostPort) return false;
    switch (kind) {
      case Kind::Everything:
        return true;
      case Kind::Address:
        return hostAddress && *hostAddress == *address;
      case Kind::Network:
        if (!hostAddress) return false;
        if (network4 && hostAddress->is_v4()) {
          auto mask = network4->netmask().to_uint();
          return (hostAddress->to_v4().to_uint() & mask) == network4->address().to_uint();
        }
        if (network6 && hostAddress->is_v6()) {
          ip::network_v6 single(hostAddress->to_v6(), 128);
          return single.is_subnet_of(*network6);
        }
        return false;
      case Kind::Domain:
        if (hostAddress) return false;  // names are never resolved to compare with literals
        if (host == domain) return true;
        return host.size() > domain.size() &&
               host.compare(host.size() - domain.size(), domain.size(), domain) == 0 &&
               host[host.size() - domain.size() - 1] == '.';
    }
    return false;
  }
};

ProxyEnvironment::ProxyEnvironment(const EnvironmentMap& variables, ProxyRules rules)
    : variables_(variables), rules_(rules) {
  if (auto chosen = pick({"no_proxy", "NO_PROXY"})) noProxy_ = *chosen;
  auto upper = variables_.find("NO_PROXY");
  auto lowerCase = variables_.find("no_proxy");
  if (upper != variables_.end() && lowerCase != variables_.end() && !upper->second.empty() &&
      !lowerCase->second.empty() && upper->second != lowerCase->second) {
    warnings_.push_back(
        "no_proxy and NO_PROXY differ; programs disagree on which wins (curl and "
        "Python use no_proxy, Go uses NO_PROXY); this check uses no_proxy");
  }
  std::string_view list = noProxy_.value;
  std::size_t pos = 0;
  while (pos < list.size()) {
    std::size_t end = list.find_first_of(", \t\r\n", pos);
    if (end == std::string_view::npos) end = list.size();
    std::string_view text = platform::trimSpace(list.substr(pos, end - pos));
    pos = end + 1;
    if (text.empty()) continue;
    if (auto entry = NoProxyEntry::parse(text)) {
      entries_.push_back(std::make_shared<const NoProxyEntry>(std::move(*entry)));
    } else {
      warnings_.push_back("invalid " + noProxy_.variable + " entry '" + std::string(text) + "'");
    }
  }
  if (rules_ == ProxyRules::Common && variables_.count("REQUEST_METHOD") &&
      variables_.count("HTTP_PROXY")) {
    warnings_.push_back("HTTP_PROXY is ignored: REQUEST_METHOD is set (CGI)");
  }
}

std::optional<ProxySetting> ProxyEnvironment::pick(std::initializer_list<const char*> names) const {
  for (const char* name : names) {
    auto it = variables_.find(name);
    if (it != variables_.end() && !platform::trimSpace(it->second).empty()) {
      return ProxySetting{it->first, std::string(platform::trimSpace(it->second))};
    }
  }
  return std::nullopt;
}

std::optional<ProxySetting> ProxyEnvironment::configuredProxy(std::string_view scheme) const {
  const std::string lowerName = lower(scheme) + "_proxy";
  std::string upperName = lowerName;
  for (auto& c : upperName) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // httpoxy: see the header. Curl never reads HTTP_PROXY; Go and Python skip it under CGI.
  bool upperAllowed = lowerName != "http_proxy" ||
                      (rules_ == ProxyRules::Common && !variables_.count("REQUEST_METHOD"));
  if (auto own = pick({lowerName.c_str()})) return own;
  if (upperAllowed) {
    if (auto own = pick({upperName.c_str()})) return own;
  }
  return pick({"all_proxy", "ALL_PROXY"});
}

bool ProxyEnvironment::bypassesProxy(std::string_view host, std::uint16_t port) const {
  const std::string normalized = normalizeHost(host);
  const auto address = platform::parseIpAddress(normalized);
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const auto& entry) { return entry->matches(normalized, address, port); });
}

std::optional<ProxySetting> ProxyEnvironment::proxySettingFor(std::string_view scheme,
                                                              std::string_view host,
                                                              std::uint16_t port) const {
  auto proxy = configuredProxy(scheme);
  if (!proxy || bypassesProxy(host, port)) return std::nullopt;
  return proxy;
}

std::optional<std::string> ProxyEnvironment::proxyFor(std::string_view scheme,
                                                      std::string_view host,
                                                      std::uint16_t port) const {
  auto setting = proxySettingFor(scheme, host, port);
  if (!setting) return std::nullopt;
  return setting->value;
}

std::vector<ProxiedRequest> ProxyEnvironment::metadataRequestsThroughProxy(
    const std::vector<std::string>& hosts) const {
  std::vector<ProxiedRequest> proxied;
  for (const auto& host : hosts) {
    for (auto [scheme, port] :
         {std::pair<const char*, std::uint16_t>{"http", 80}, {"https", 443}}) {
      if (auto setting = proxySettingFor(scheme, host, port)) {
        proxied.push_back({host, scheme, port, *setting});
      }
    }
  }
  return proxied;
}

}  // namespace guestpulse
