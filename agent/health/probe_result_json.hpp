#pragma once
// A ProbeResult as one JSON object — {"state","cause","message","fix","details":{...}} —
// and back: how a probe run in a child process hands its result to the daemon.

#include <optional>
#include <string>
#include <string_view>

#include "agent/health/probe_result.hpp"

namespace guestpulse {

std::string probeResultToJson(const ProbeResult& result);
// nullopt unless `text` is such an object with a known state; other members are ignored.
std::optional<ProbeResult> probeResultFromJson(std::string_view text);

}  // namespace guestpulse
