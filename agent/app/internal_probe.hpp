#pragma once
// `guestpulse internal probe NAME [-c FILE] [--already-failing]`: the child side of
// agent/probes/probe_in_child.hpp. Runs one probe of the config once, in this process,
// within the limits the child sets itself (CPU time, address space), and prints its
// ProbeResult as one JSON line on stdout. Not for operators: `check` is their command.

#include <string>

#include "config/config.hpp"

namespace guestpulse {

// Returns the exit code: 0 with a result printed, 3 for a probe the config does not have.
int runInternalProbe(const Config& config, Provider provider, const std::string& name,
                     bool alreadyFailing);

}  // namespace guestpulse
