#pragma once
// `provider: auto` resolved on this machine: the firmware's identity read through the
// platform, and only when it is inconclusive, one tagged request per provider (each
// bounded by detection.timeout, sent at once, never through a proxy) to the endpoint the
// agent would use on that provider. Blocking: run once at start-up, before the agent's
// loop. A configured provider is returned as it is, with nothing read or sent.

#include "agent/provider/provider_detection.hpp"
#include "config/config.hpp"

namespace guestpulse {

ProviderChoice resolveProvider(const Config& config);

}  // namespace guestpulse
