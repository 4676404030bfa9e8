#pragma once
// What the agent keeps in state_dir between runs, and the status file for local tools.
//
//   health.json  per-probe state (state, cause, message, fix, since) and the last
//                failure; written durably on every transition, restored at start so a
//                restart neither forgets a failure nor announces a false recovery.
//   status.json  the current picture for local tools, atomically replaced every cycle
//                (not fsynced: it is rebuilt each cycle).
//
// Files that are missing, unreadable or of another version are ignored (logged), never
// fatal: the agent then starts from a clean state.

#include <optional>
#include <string>

#include "agent/health/health_model.hpp"

namespace guestpulse {

struct StatusExtras {
  std::string version;
  WallTime started{};
  std::string endpoint;
  std::string provider;            // "gce", "ec2", "azure"
  std::string providerReason;      // why: configured, or what detection saw
  bool attributesEnabled = false;  // the sink exists (enabled, and on GCE)
  std::size_t attributesPending = 0;
  bool attributesDisabled = false;
  std::uint64_t attributeWrites = 0;
  std::uint64_t serialWritten = 0;
  std::uint64_t serialDropped = 0;
};

std::string healthToJson(const HealthModel& health, WallTime now);
// Restores probes that `health` already knows (added with addProbe); others are ignored.
// Returns how many probes were restored.
int healthFromJson(HealthModel& health, const std::string& json, Timestamp now);

std::string statusToJson(const HealthModel& health, const StatusExtras& extras, Timestamp now);

}  // namespace guestpulse
