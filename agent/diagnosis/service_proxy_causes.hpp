#pragma once
// Internal to the service-proxy diagnosis: each cause's result, built from the facts by
// service_proxy_causes.cpp, chosen by the steps in service_proxy.cpp.

#include <optional>
#include <string>

#include "agent/diagnosis/service_proxy.hpp"

namespace guestpulse::service_proxy_detail {

// The facts as the steps read them so far.
struct View {
  const ServiceProxyFacts& facts;
  const platform::FixHints& hints;
  ServiceProxySpec spec;
  std::string bootstrap;  // bootstrap-status, trimmed; "" when not set
};

// A metadata answer's value, trimmed; "" for 404 or no answer.
std::string valueOf(const std::optional<MetadataResult>& call);

ProbeResult bootstrapPending(const View& v);
ProbeResult bootstrapFailed(const View& v);
// `heartbeat` nullopt: there is none.
ProbeResult agentDead(const View& v, std::optional<WallTime> heartbeat);

// Each finding of a finished bootstrap, or nullopt when that part is fine (or unknown).
std::optional<ProbeResult> interceptionLoop(const View& v);
std::optional<ProbeResult> controlPlaneUnreachable(const View& v);
std::optional<ProbeResult> scopeMissing(const View& v);
std::optional<ProbeResult> envoyNotReady(const View& v);
std::optional<ProbeResult> interceptionMissing(const View& v);
std::optional<ProbeResult> envoyTooOld(const View& v);

// The OK result, naming what was seen; `notes` are what could not be checked.
ProbeResult healthy(const View& v, const std::vector<std::string>& notes);

// Whether the nat rules would give this agent's own connection to the proxy.
bool probeIntercepted(const platform::InterceptionFacts& facts);

}  // namespace guestpulse::service_proxy_detail
