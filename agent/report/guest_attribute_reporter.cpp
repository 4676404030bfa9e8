#include "agent/report/guest_attribute_reporter.hpp"

namespace guestpulse {

bool serverUnreachableCause(std::string_view cause) {
  return cause.rfind("net.", 0) == 0 || cause == "mds.unavailable" || cause == "mds.throttled" ||
         cause == "mds.bad_response" || cause == "proxy.intercepted";
}

GuestAttributeReporter::GuestAttributeReporter(AttributeTarget& sink, std::string serverProbe)
    : sink_(sink), serverProbe_(std::move(serverProbe)) {}

std::string GuestAttributeReporter::probeValue(State state, const ProbeResult& r) {
  std::string value(toString(state));
  if (!r.cause.empty()) value += " " + r.cause + (r.message.empty() ? "" : ": " + r.message);
  return value;
}

void GuestAttributeReporter::onTransition(const Transition& t, const HealthModel& health) {
  sink_.set("status", std::string(toString(health.overall())));
  sink_.set("probe-" + t.probe, probeValue(t.to, t.result));
  if (t.to != State::Ok && health.lastFailure())
    sink_.set("last-failure", health.lastFailure()->toAttribute());
  if (t.probe == serverProbe_ && t.to == State::Ok && t.from) {
    publishSnapshot(health, t.at);
    serverDown_ = false;
    sink_.serverReachable();
  }
}

void GuestAttributeReporter::onResult(const HealthModel& health, Timestamp now) {
  // The server probe's verdict, also when it did not change (a restored failure goes on).
  if (const ProbeHealth* server = health.probe(serverProbe_); server && server->known) {
    const bool down = server->state != State::Ok && serverUnreachableCause(server->current.cause);
    if (down != serverDown_) {
      serverDown_ = down;
      if (down)
        sink_.serverUnreachable();
      else
        sink_.serverReachable();
    }
  }
  if (firstResultSeen_) return;
  firstResultSeen_ = true;
  // The first heartbeat goes out with the first results, not a heartbeat period later.
  sink_.set("heartbeat", formatRfc3339(now.wall));
}

void GuestAttributeReporter::heartbeat(WallTime lastCycle) {
  sink_.set("heartbeat", formatRfc3339(lastCycle));
}

void GuestAttributeReporter::publishSnapshot(const HealthModel& health, Timestamp now) {
  // Re-sends rank below real changes, so the recovery itself goes out first.
  sink_.refresh("status", std::string(toString(health.overall())));
  for (const auto& [probe, state] : health.probes())
    if (state.known) sink_.refresh("probe-" + probe, probeValue(state.state, state.current));
  if (health.lastFailure()) sink_.refresh("last-failure", health.lastFailure()->toAttribute());
  sink_.refresh("heartbeat", formatRfc3339(now.wall));
}

}  // namespace guestpulse
