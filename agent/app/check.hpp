#pragma once
// `guestpulse check`: run every enabled probe once, concurrently, and print the
// diagnosis. Never writes guest attributes or the serial console.

#include <string>
#include <vector>

#include "agent/health/probe_result.hpp"
#include "agent/provider/provider_detection.hpp"
#include "config/config.hpp"

namespace guestpulse {

struct CheckEntry {
  std::string probe;
  ProbeResult result;
  Duration elapsed{0};
};

struct CheckReport {
  ProviderChoice provider;
  std::string endpoint;
  std::vector<CheckEntry> entries;
  State overall() const;
};

// Runs the probes of `config` once, as on `provider`. Blocks until every probe finished
// (each is bounded by its deadline).
CheckReport runCheck(const Config& config, const ProviderChoice& provider);
CheckReport runCheck(const Config& config);  // the configured provider; auto as GCE

std::string formatCheckText(const CheckReport& report, bool color);
std::string formatCheckJson(const CheckReport& report);
// 0 OK, 1 DEGRADED, 2 FAILED.
int checkExitCode(const CheckReport& report);

}  // namespace guestpulse
