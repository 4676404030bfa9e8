#pragma once
// What one run of a probe found. Every non-OK result carries a stable dotted cause code
// (see the README's cause table), a message naming the step and target, and a fix.
// An OK result may also carry a cause: that is an informational finding
// (e.g. workload_certs.not_configured) that must never be reported as an error.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace guestpulse {

enum class State { Ok = 0, Degraded = 1, Failed = 2 };

std::string_view toString(State s);  // "OK", "DEGRADED", "FAILED"
inline State worst(State a, State b) { return a > b ? a : b; }

struct ProbeResult {
  State state = State::Ok;
  std::string cause;    // empty for a plain OK
  std::string message;  // one line, names the step and the target
  std::string fix;      // what the operator should do; empty when nothing to do
  // Extra facts for `check --json` and the status file (e.g. {"latency_ms","12"}).
  std::vector<std::pair<std::string, std::string>> details;

  static ProbeResult ok(std::string message = {}) {
    return {State::Ok, {}, std::move(message), {}, {}};
  }
  static ProbeResult info(std::string cause, std::string message, std::string fix = {}) {
    return {State::Ok, std::move(cause), std::move(message), std::move(fix), {}};
  }
  static ProbeResult degraded(std::string cause, std::string message, std::string fix) {
    return {State::Degraded, std::move(cause), std::move(message), std::move(fix), {}};
  }
  static ProbeResult failed(std::string cause, std::string message, std::string fix) {
    return {State::Failed, std::move(cause), std::move(message), std::move(fix), {}};
  }
};

}  // namespace guestpulse
