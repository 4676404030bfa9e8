#pragma once
// Runs one probe in a short-lived child of the agent's own binary:
//   <executable> internal probe NAME [-c CONFIG] [--provider P] [--already-failing]
// which runs the probe once and prints its ProbeResult as JSON (agent/app/internal_probe).
//
// Why: a TLS probe loads OpenSSL (libssl and libcrypto, ~6 MB resident) and parses
// certificates. In a child, the daemon never maps them, the memory goes back to the OS
// when the child exits, and a crash or a hang in certificate parsing is the child's.
// The child is bounded like an exec probe (platform/exec.hpp: its own process group,
// SIGTERM at `timeout`, SIGKILL `killGrace` later) and sets its own CPU and memory
// limits. A child that fails to start, dies, times out or prints something else is
// agent.probe_isolation_failed, with what happened.

#include <string>

#include <boost/asio/awaitable.hpp>

#include "agent/core/duration.hpp"
#include "agent/health/probe_result.hpp"
#include "agent/probes/probe.hpp"

namespace guestpulse {

class BlockingPool;

struct ChildProbeSpec {
  std::string executable;  // this program; empty = probes run in the daemon's process
  std::string configPath;  // the config file the daemon runs with; "" = built-in defaults
  // The provider the daemon resolved ("gce"): the child does not detect it again.
  std::string provider;
  Duration killGrace = std::chrono::seconds(1);
};

// The child's own bounds: what one TLS probe run may use at most.
inline constexpr std::uint64_t kChildProbeMemoryBytes = 256ull << 20;

// Runs probe `name` in a child and waits at most `timeout` (+ killGrace) for its result.
boost::asio::awaitable<ProbeResult> runProbeInChild(BlockingPool& pool, const ChildProbeSpec& spec,
                                                    const std::string& name,
                                                    ProbeRunContext context, Duration timeout);

// What the child prints, read back; a failure result naming what went wrong otherwise.
ProbeResult childProbeResult(const std::string& name, int exitCode, bool timedOut,
                             const std::string& output, Duration timeout);

}  // namespace guestpulse
