#pragma once
// Which environment variables matter for proxies: every name ending in "_proxy" in any
// case, plus REQUEST_METHOD (a program that sees it believes it runs as CGI and ignores
// HTTP_PROXY; see agent/diagnosis/proxy_rules.hpp). Used by every OS's inspector to keep
// only those in ProxyFacts.

#include "platform/host_facts.hpp"

namespace guestpulse::platform {

EnvironmentMap proxyRelevantVariables(const EnvironmentMap& environment);

}  // namespace guestpulse::platform
