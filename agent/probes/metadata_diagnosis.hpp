#pragma once
// The cause classifier for calls to the metadata server: turns what a call did into a
// cause code, a message naming the step and the target, and the fix. I/O-free.

#include <string>

#include "agent/health/probe_result.hpp"
#include "agent/metadata/metadata_client.hpp"

namespace guestpulse {

struct MetadataCallContext {
  std::string endpoint;  // "169.254.169.254:80" as dialled
  std::string what;      // "GET instance/id"
};

// Classifies the outcome of one metadata call (after its retries).
ProbeResult diagnoseMetadataCall(const MetadataResult& call, const MetadataCallContext& context);

}  // namespace guestpulse
