#pragma once
// The machine-wide WinHTTP proxy (`netsh winhttp show proxy`), which Windows services and
// many programs use, translated to the *_proxy variables ProxyEnvironment understands so
// one set of rules (agent/diagnosis/proxy_rules.hpp) judges both.
//
//  - proxy list "host:port" → http_proxy and https_proxy "http://host:port";
//    "http=host:port;https=host:port" → per scheme (WinHTTP's per-scheme form);
//  - bypass list "<local>;*.example.com;10.*;169.254.169.254" → no_proxy
//    "example.com,10.0.0.0/8,169.254.169.254": a leading "*." becomes a domain suffix,
//    trailing ".*" octets become a CIDR block, and "<local>" (names without a dot) is
//    left out: neither metadata name is dotless. Entries with a wildcard elsewhere are
//    kept as written and cannot match.

#include <string_view>

#include "platform/host_facts.hpp"

namespace guestpulse::platform::win {

EnvironmentMap translateWinHttpProxy(std::string_view proxyList, std::string_view bypassList);

}  // namespace guestpulse::platform::win
