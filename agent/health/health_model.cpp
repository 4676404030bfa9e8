#include "agent/health/health_model.hpp"

namespace guestpulse {

std::string_view toString(State s) {
  switch (s) {
    case State::Ok:
      return "OK";
    case State::Degraded:
      return "DEGRADED";
    case State::Failed:
      return "FAILED";
  }
  return "?";
}

std::string FailureRecord::toAttribute() const {
  return formatRfc3339(time) + " " + probe + " " + cause + ": " + message;
}

void HealthModel::addProbe(const std::string& name) { probes_.try_emplace(name); }

std::optional<Transition> HealthModel::update(const std::string& name, const ProbeResult& result,
                                              Timestamp now) {
  ProbeHealth& health = probes_[name];
  health.last = result;
  health.lastUpdate = now;
  ++health.runs;
  bool bad = result.state != State::Ok;
  if (bad) {
    ++health.failures;
    ++health.consecutiveBad;
    health.consecutiveGood = 0;
  } else {
    ++health.consecutiveGood;
    health.consecutiveBad = 0;
  }

  auto makeTransition = [&](std::optional<State> from, bool causeChanged) {
    Transition t;
    t.probe = name;
    t.from = from;
    t.to = result.state;
    t.result = result;
    t.causeChanged = causeChanged;
    t.at = now;
    if (from)
      t.timeInPrevious = std::chrono::duration_cast<Duration>(now.steady - health.since.steady);
    return t;
  };

  // The failure record is taken when a problem begins (or its cause changes), not on
  // every failing cycle: its message then stays the one the operator was told.
  auto recordFailure = [&] {
    if (bad) lastFailure_ = FailureRecord{now.wall, name, result.cause, result.message};
  };

  if (!health.known) {
    health.known = true;
    health.state = result.state;
    health.current = result;
    health.since = now;
    recordFailure();
    return makeTransition(std::nullopt, false);
  }

  if (result.state == health.state) {
    // Same state: a different cause (or a new informational finding) is news.
    bool causeChanged = result.cause != health.current.cause;
    health.current = result;
    if (causeChanged && (bad || !result.cause.empty())) {
      recordFailure();
      return makeTransition(health.state, true);
    }
    return std::nullopt;
  }

  int needed = bad ? thresholds_.failuresToChange : thresholds_.successesToRecover;
  int have = bad ? health.consecutiveBad : health.consecutiveGood;
  // Moving between DEGRADED and FAILED is not a recovery; only count the streak for
  // leaving or entering OK.
  if (have < needed && (health.state == State::Ok || !bad)) return std::nullopt;

  Transition t = makeTransition(health.state, false);
  recordFailure();
  health.state = result.state;
  health.current = result;
  health.since = now;
  return t;
}

State HealthModel::overall() const {
  State worstState = State::Ok;
  for (const auto& [name, health] : probes_)
    if (health.known) worstState = worst(worstState, health.state);
  return worstState;
}

const ProbeHealth* HealthModel::probe(const std::string& name) const {
  auto it = probes_.find(name);
  return it == probes_.end() ? nullptr : &it->second;
}

void HealthModel::restore(const std::string& name, State state, ProbeResult result,
                          Timestamp since) {
  ProbeHealth& health = probes_[name];
  health.known = true;
  health.state = state;
  health.current = result;
  health.last = std::move(result);
  health.since = since;
}

std::string statusSummary(const HealthModel& health) {
  State overall = health.overall();
  std::string line(toString(overall));
  if (overall == State::Ok) return line;
  for (const auto& [probe, state] : health.probes())
    if (state.known && state.state == overall)
      return line + ": " + probe + (state.current.cause.empty() ? "" : " " + state.current.cause);
  return line;
}

}  // namespace guestpulse
