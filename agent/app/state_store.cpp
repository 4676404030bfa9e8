#include "agent/app/state_store.hpp"

#include <boost/json.hpp>

namespace guestpulse {

namespace json = boost::json;

namespace {

std::optional<State> parseState(std::string_view text) {
  if (text == "OK") return State::Ok;
  if (text == "DEGRADED") return State::Degraded;
  if (text == "FAILED") return State::Failed;
  return std::nullopt;
}

std::int64_t epochSeconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Seconds since 1970 read back from a file, as a wall time when it is one: from 1970 to
// the end of 2199. Anything else did not come from this agent, and the clock counts
// nanoseconds in 64 bits, which ends in April 2262: converting more would overflow.
constexpr std::int64_t kLatestEpochSeconds = 7258118399;  // 2199-12-31T23:59:59Z
std::optional<WallTime> wallFromEpochSeconds(const json::value* v) {
  if (!v || !v->is_int64() || v->as_int64() < 0 || v->as_int64() > kLatestEpochSeconds)
    return std::nullopt;
  return WallTime{std::chrono::seconds(v->as_int64())};
}

std::string text(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::string healthToJson(const HealthModel& health, WallTime now) {
  json::object probes;
  for (const auto& [name, h] : health.probes()) {
    if (!h.known) continue;
    probes[name] = json::object{
        {"state", std::string(toString(h.state))},
        {"cause", h.current.cause},
        {"message", h.current.message},
        {"fix", h.current.fix},
        {"since", epochSeconds(h.since.wall)},  // the wall clock survives a restart
    };
  }
  json::object root{{"version", 1}, {"saved", epochSeconds(now)}, {"probes", probes}};
  if (const auto& f = health.lastFailure()) {
    root["last_failure"] = json::object{{"time", epochSeconds(f->time)},
                                        {"probe", f->probe},
                                        {"cause", f->cause},
                                        {"message", f->message}};
  }
  return json::serialize(root) + "\n";
}

int healthFromJson(HealthModel& health, const std::string& text_, Timestamp now) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text_, ec);
  if (ec || !parsed.is_object()) return -1;
  const auto& root = parsed.as_object();
  auto* version = root.if_contains("version");
  if (!version || !version->is_int64() || version->as_int64() != 1) return -1;
  int restored = 0;
  if (auto* probes = root.if_contains("probes"); probes && probes->is_object()) {
    for (const auto& [key, value] : probes->as_object()) {
      std::string name(key);
      if (!health.probe(name) || !value.is_object()) continue;
      const auto& p = value.as_object();
      auto state = parseState(text(p, "state"));
      if (!state) continue;
      ProbeResult result{*state, text(p, "cause"), text(p, "message"), text(p, "fix"), {}};
      Timestamp since = now;
      if (auto wall = wallFromEpochSeconds(p.if_contains("since")); wall && *wall <= now.wall) {
        since.wall = *wall;
        since.steady =
            now.steady - std::chrono::duration_cast<SteadyClock::duration>(now.wall - *wall);
      }
      health.restore(name, *state, std::move(result), since);
      ++restored;
    }
  }
  if (auto* f = root.if_contains("last_failure"); f && f->is_object()) {
    const auto& o = f->as_object();
    FailureRecord record;
    // A record without a believable time is not restored: it would be reported with a
    // wrong one.
    auto time = wallFromEpochSeconds(o.if_contains("time"));
    if (time) record.time = *time;
    record.probe = text(o, "probe");
    record.cause = text(o, "cause");
    record.message = text(o, "message");
    if (time && !record.probe.empty()) health.restoreLastFailure(std::move(record));
  }
  return restored;
}

std::string statusToJson(const HealthModel& health, const StatusExtras& extras, Timestamp now) {
  json::array probes;
  for (const auto& [name, h] : health.probes()) {
    json::object p{{"name", name}};
    if (!h.known) {
      p["state"] = "UNKNOWN";
    } else {
      p["state"] = std::string(toString(h.state));
      p["cause"] = h.current.cause;
      p["message"] = h.last.message;
      p["fix"] = h.current.fix;
      p["since"] = formatRfc3339(h.since.wall);
      p["last_run"] =
          formatRfc3339(h.lastUpdate.wall == WallTime{} ? h.since.wall : h.lastUpdate.wall);
      p["runs"] = h.runs;
      p["failures"] = h.failures;
    }
    probes.push_back(std::move(p));
  }
  json::object root{
      {"status", std::string(toString(health.overall()))},
      {"updated", formatRfc3339(now.wall)},
      {"version", extras.version},
      {"started", formatRfc3339(extras.started)},
      {"provider", extras.provider},
      {"provider_reason", extras.providerReason},
      {"endpoint", extras.endpoint},
      {"probes", std::move(probes)},
      {"guest_attributes", json::object{{"enabled", extras.attributesEnabled},
                                        {"pending", extras.attributesPending},
                                        {"disabled", extras.attributesDisabled},
                                        {"writes", extras.attributeWrites}}},
      {"serial",
       json::object{{"written", extras.serialWritten}, {"dropped", extras.serialDropped}}},
  };
  if (const auto& f = health.lastFailure()) root["last_failure"] = f->toAttribute();
  return json::serialize(root) + "\n";
}

}  // namespace guestpulse
