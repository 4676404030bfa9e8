#pragma once
// The per-probe health state machine and the overall status. I/O-free: every call is
// given the time, so tests drive it with a manual clock.
//
// A probe becomes FAILED/DEGRADED after `failuresToChange` consecutive non-OK results
// (default 1: probes already retry within a cycle) and recovers after
// `successesToRecover` consecutive OK results. A change of cause while still failing
// is a transition too (the operator's fix changes with it).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/duration.hpp"
#include "agent/health/probe_result.hpp"

namespace guestpulse {

struct Timestamp {
  SteadyTime steady{};
  WallTime wall{};
  static Timestamp now() { return {SteadyClock::now(), WallClock::now()}; }
};

struct HealthThresholds {
  int failuresToChange = 1;
  int successesToRecover = 1;
};

struct FailureRecord {
  WallTime time{};
  std::string probe;
  std::string cause;
  std::string message;
  // `<RFC 3339> <probe> <cause>: <message>` — the guest attribute `last-failure`.
  std::string toAttribute() const;
};

struct ProbeHealth {
  bool known = false;  // false until the first result
  State state = State::Ok;
  ProbeResult current;  // the result that set the current state (or refined it)
  ProbeResult last;     // the latest result, whatever it was
  Timestamp since;      // when the current state began
  Timestamp lastUpdate;
  int consecutiveBad = 0;   // non-OK results in a row
  int consecutiveGood = 0;  // OK results in a row
  std::uint64_t runs = 0;
  std::uint64_t failures = 0;
};

struct Transition {
  std::string probe;
  std::optional<State> from;  // nullopt on the probe's first result
  State to = State::Ok;
  ProbeResult result;
  Duration timeInPrevious{0};  // how long `from` lasted
  bool causeChanged = false;   // same state, different cause
  Timestamp at;
};

class HealthModel {
 public:
  explicit HealthModel(HealthThresholds thresholds = {}) : thresholds_(thresholds) {}

  void addProbe(const std::string& name);
  // Feeds one result. Returns the transition it caused, if any.
  std::optional<Transition> update(const std::string& name, const ProbeResult& result,
                                   Timestamp now);

  // Worst state over probes with a known state; OK when none is known yet.
  State overall() const;
  const ProbeHealth* probe(const std::string& name) const;
  const std::map<std::string, ProbeHealth>& probes() const { return probes_; }
  // The latest problem (FAILED or DEGRADED) as it began; kept after recovery.
  const std::optional<FailureRecord>& lastFailure() const { return lastFailure_; }
  // Restores state saved by an earlier run (see the agent's state file).
  void restore(const std::string& name, State state, ProbeResult result, Timestamp since);
  void restoreLastFailure(FailureRecord record) { lastFailure_ = std::move(record); }

 private:
  HealthThresholds thresholds_;
  std::map<std::string, ProbeHealth> probes_;
  std::optional<FailureRecord> lastFailure_;
};

// One line for the service manager's STATUS=: the overall state and, when not OK, the
// first probe in that state and its cause ("FAILED: metadata net.connection_refused").
std::string statusSummary(const HealthModel& health);

}  // namespace guestpulse
