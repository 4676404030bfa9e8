#pragma once
// A probe checks one thing the VM depends on and says what it found. Probes never
// throw and never hang: the scheduler also bounds each run by deadline().

#include <string>

#include <boost/asio/awaitable.hpp>

#include "agent/core/duration.hpp"
#include "agent/health/probe_result.hpp"

namespace guestpulse {

struct ProbeRunContext {
  // The probe is already known to be failing: spend one attempt, not the whole retry
  // budget, so a long outage costs about one request per cycle.
  bool alreadyFailing = false;
};

class Probe {
 public:
  virtual ~Probe() = default;
  virtual const std::string& name() const = 0;
  virtual Duration interval() const = 0;
  // Upper bound on one run, enforced by the scheduler; reaching it is a failure.
  virtual Duration deadline() const = 0;
  virtual boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) = 0;
};

// Runs the probe once, bounded by its deadline(): past it the run is cancelled and the
// result is agent.probe_timeout. Used by the daemon's loops and by `check`. The result
// is boundedResult(): whatever a server or a command said, what leaves the probe is safe
// to show and store.
boost::asio::awaitable<ProbeResult> runWithDeadline(Probe& probe, ProbeRunContext context);

// `result` with control characters escaped (agent/core/text.hpp) in its cause, message,
// fix and details, and each cut to kMaxResultText bytes.
ProbeResult boundedResult(ProbeResult result);

}  // namespace guestpulse
