// A fleet of agents over a simulated hour, on a manual clock: the real scheduling and
// reporting decisions (ProbeSchedule, RetryPolicy, HealthModel, GuestAttributeReporter,
// AttributeWriter with GCE's rate limits) for 100 000 agents, with only the I/O replaced
// by a metadata server that is up or down. Prints the per-second request rate the server
// sees in each phase (mean, peak, peak/mean) and when every agent's status=OK was accepted
// again after the outage; the same figures tests/bench/fleet.sh measures with real
// processes, for a fleet no single machine can run. Asserts nothing.
//
//   fleet_sim [AGENTS=100000] [OUTAGE_START_S=1200] [OUTAGE_S=300] [HOUR_S=3600] [SEED=1]
//
// The agents run the default config (metadata every 30 s, workload_certs and
// service_proxy asking one attribute every 10 minutes in auto mode, mds_mtls not set up,
// heartbeat every 60 s, retry 1 s..60 s x2, 5 attempts) and start within 10 s of one
// another. During the outage the server answers every request with 503.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "agent/core/random.hpp"
#include "agent/core/retry_policy.hpp"
#include "agent/health/health_model.hpp"
#include "agent/report/attribute_writer.hpp"
#include "agent/report/guest_attribute_reporter.hpp"
#include "agent/schedule/probe_schedule.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {

struct ProbeSpec {
  const char* name;
  Duration interval;
  bool asksServer;    // one metadata GET per run (with its retries)
  bool keepsVerdict;  // unreachable server: keeps its last (OK) verdict, as these probes do
};

const ProbeSpec kProbes[] = {
    {"metadata", 30s, true, false},
    {"workload_certs", 10min, true, true},
    {"mds_mtls", 10min, false, true},
    {"service_proxy", 10min, true, true},
};
constexpr int kProbeCount = sizeof(kProbes) / sizeof(kProbes[0]);
const RetrySettings kRetry{1s, 60s, 2.0, 5};
constexpr Duration kHeartbeat = 60s;

struct Server {
  SteadyTime downFrom, downUntil;
  bool up(SteadyTime t) const { return t < downFrom || t >= downUntil; }
};

struct Agent;

// The reporter's target: the writer, as GuestAttributeSink hands it values.
struct WriterTarget : AttributeTarget {
  AttributeWriter* writer = nullptr;
  SteadyTime* now = nullptr;
  bool* poke = nullptr;  // something new to write: wake the writer
  void set(const std::string& k, const std::string& v) override {
    writer->set(k, v);
    *poke = true;
  }
  void refresh(const std::string& k, const std::string& v) override {
    writer->queue().refresh(k, v);
    *poke = true;
  }
  void retryNow() override {
    writer->skipBackoff(*now);
    *poke = true;
  }
};

struct ProbeRun {
  int attempt = 0;
  int budget = 0;
  std::unique_ptr<RetryPolicy> policy;
};

struct Agent {
  Agent(UnitRandom random) : writer(kRetry, random, 30min), reporter(target) {
    for (const auto& p : kProbes) {
      health.addProbe(p.name);
      ScheduleSettings s;
      s.interval = p.interval;
      s.initialStagger = 500ms;
      s.backoff = kRetry;
      schedules.emplace_back(s, random);
    }
    runs.resize(kProbeCount);
    target.writer = &writer;
    target.now = &now;
    target.poke = &poke;
  }
  HealthModel health;
  std::vector<ProbeSchedule> schedules;
  std::vector<ProbeRun> runs;
  AttributeWriter writer;
  WriterTarget target;
  GuestAttributeReporter reporter;
  SteadyTime now{};
  bool poke = false;
  SteadyTime writerWakeAt = SteadyTime::max();
  WallTime lastCycle{};
  bool haveCycle = false;
  std::int64_t statusOkAfterOutageMs = -1;
};

enum class Kind : std::uint8_t { Attempt, Writer, Heartbeat };

struct Event {
  std::int64_t ms;
  std::uint32_t agent;
  Kind kind;
  std::uint8_t probe;
  bool operator>(const Event& o) const { return ms > o.ms; }
};

std::int64_t msOf(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
SteadyTime at(std::int64_t ms) { return SteadyTime(std::chrono::milliseconds(ms)); }

struct Stats {
  double mean = 0, peak = 0;
};
Stats stats(const std::vector<std::uint32_t>& perSecond, int from, int to) {
  Stats s;
  double sum = 0;
  for (int i = from; i < to; ++i) {
    sum += perSecond[i];
    s.peak = std::max<double>(s.peak, perSecond[i]);
  }
  s.mean = sum / std::max(1, to - from);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint32_t agents = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int outageStart = argc > 2 ? std::atoi(argv[2]) : 1200;
  const int outageLength = argc > 3 ? std::atoi(argv[3]) : 300;
  const int hour = argc > 4 ? std::atoi(argv[4]) : 3600;
  const std::uint64_t seed = argc > 5 ? std::atoll(argv[5]) : 1;
  const Server server{at(outageStart * 1000LL), at((outageStart + outageLength) * 1000LL)};

  UnitRandom random = makeUnitRandom(seed);
  std::vector<std::unique_ptr<Agent>> fleet;
  fleet.reserve(agents);
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  std::vector<std::uint32_t> perSecond(hour + 1, 0);
  std::uint64_t requests = 0;
  auto request = [&](std::int64_t ms) {
    if (ms / 1000 <= hour) ++perSecond[ms / 1000];
    ++requests;
  };

  for (std::uint32_t i = 0; i < agents; ++i) {
    fleet.push_back(std::make_unique<Agent>(random));
    // The fleet boots within 10 s, as a managed instance group does.
    const std::int64_t boot = static_cast<std::int64_t>(random() * 10000);
    Agent& a = *fleet.back();
    for (int p = 0; p < kProbeCount; ++p)
      events.push({boot + msOf(SteadyTime{} + a.schedules[p].firstDelay()), i, Kind::Attempt,
                   static_cast<std::uint8_t>(p)});
    events.push({boot + msOf(SteadyTime{} + kHeartbeat), i, Kind::Heartbeat, 0});
  }

  auto wakeWriter = [&](std::uint32_t id, Agent& a) {
    // Drive the writer as GuestAttributeSink does, until it waits or idles.
    for (int guard = 0; guard < 64; ++guard) {
      AttributeWriter::Action action = a.writer.next(a.now);
      if (action.kind == AttributeWriter::Action::Kind::Idle) return;
      if (action.kind == AttributeWriter::Action::Kind::WaitUntil) {
        if (action.until < a.writerWakeAt || a.writerWakeAt <= a.now) {
          a.writerWakeAt = action.until;
          events.push({msOf(action.until), id, Kind::Writer, 0});
        }
        return;
      }
      request(msOf(a.now));
      const bool up = server.up(a.now);
      a.writer.onOutcome(action.key, action.value,
                         up ? WriteOutcome::Delivered : WriteOutcome::Retry, a.now);
      if (up && action.key == "status" && action.value == "OK" && a.now >= server.downUntil &&
          a.statusOkAfterOutageMs < 0)
        a.statusOkAfterOutageMs = msOf(a.now) - msOf(server.downUntil);
    }
  };

  auto finishRun = [&](std::uint32_t id, Agent& a, int p, bool succeeded) {
    const ProbeSpec& spec = kProbes[p];
    Timestamp now{a.now, WallTime(a.now.time_since_epoch())};
    ProbeResult result = succeeded || spec.keepsVerdict
                             ? ProbeResult::ok()
                             : ProbeResult::failed("mds.unavailable", "503", "wait");
    a.lastCycle = now.wall;
    a.haveCycle = true;
    if (auto t = a.health.update(spec.name, result, now)) a.reporter.onTransition(*t, a.health);
    a.reporter.onResult(a.health, now);
    Duration next = a.schedules[p].afterRun(result.state);
    a.runs[p].policy.reset();
    events.push({msOf(a.now + next), id, Kind::Attempt, static_cast<std::uint8_t>(p)});
  };

  std::int64_t limit = static_cast<std::int64_t>(hour) * 1000;
  while (!events.empty() && events.top().ms <= limit) {
    Event e = events.top();
    events.pop();
    Agent& a = *fleet[e.agent];
    a.now = at(e.ms);
    a.poke = false;
    switch (e.kind) {
      case Kind::Attempt: {
        const ProbeSpec& spec = kProbes[e.probe];
        ProbeRun& run = a.runs[e.probe];
        if (!run.policy) {
          run.policy = std::make_unique<RetryPolicy>(kRetry, random);
          run.attempt = 0;
          run.budget = a.schedules[e.probe].alreadyFailing() ? 1 : kRetry.attempts;
        }
        if (!spec.asksServer) {
          finishRun(e.agent, a, e.probe, true);
          break;
        }
        request(e.ms);
        ++run.attempt;
        if (server.up(a.now)) {
          finishRun(e.agent, a, e.probe, true);
          break;
        }
        RetrySettings budget = kRetry;
        budget.attempts = run.budget;
        auto delay = run.attempt < run.budget ? run.policy->onFailure(AttemptOutcome::status(503))
                                              : std::optional<Duration>{};
        if (delay)
          events.push({msOf(a.now + *delay), e.agent, Kind::Attempt, e.probe});
        else
          finishRun(e.agent, a, e.probe, false);
        break;
      }
      case Kind::Writer:
        if (msOf(a.writerWakeAt) != e.ms) break;  // superseded by an earlier wake
        a.writerWakeAt = SteadyTime::max();
        a.poke = true;
        break;
      case Kind::Heartbeat:
        if (a.haveCycle) a.reporter.heartbeat(a.lastCycle);
        events.push({e.ms + msOf(SteadyTime{} + kHeartbeat), e.agent, Kind::Heartbeat, 0});
        break;
    }
    if (a.poke) wakeWriter(e.agent, a);
  }

  std::printf(
      "fleet_sim: %u agents, default config, booting within 10 s; all-503 outage "
      "%d..%d s; %d s simulated (seed %llu)\n",
      agents, outageStart, outageStart + outageLength, hour, static_cast<unsigned long long>(seed));
  struct Phase {
    const char* name;
    int from, to;
  };
  const Phase phases[] = {{"steady", 0, outageStart},
                          {"outage", outageStart, outageStart + outageLength},
                          {"recovery", outageStart + outageLength, hour}};
  for (const auto& ph : phases) {
    Stats s = stats(perSecond, ph.from, ph.to);
    std::printf("  %-9s %5d s  mean %10.1f/s  peak %8.0f/s  peak/mean %5.2f  per agent %.4f/s\n",
                ph.name, ph.to - ph.from, s.mean, s.peak, s.peak / s.mean, s.mean / agents);
  }
  std::vector<std::int64_t> back;
  for (const auto& a : fleet)
    if (a->statusOkAfterOutageMs >= 0) back.push_back(a->statusOkAfterOutageMs);
  std::sort(back.begin(), back.end());
  if (!back.empty())
    std::printf(
        "  status=OK accepted again by %zu of %u agents: median %.1f s, 99 %% %.1f s, "
        "last %.1f s after the outage\n",
        back.size(), agents, back[back.size() / 2] / 1000.0, back[back.size() * 99 / 100] / 1000.0,
        back.back() / 1000.0);
  std::printf("  %llu requests in all\n", static_cast<unsigned long long>(requests));
  if (const char* out = std::getenv("FLEET_SIM_DATA")) {
    if (FILE* f = std::fopen(out, "w")) {
      for (int i = 0; i < hour; ++i) std::fprintf(f, "%d %u\n", i, perSecond[i]);
      std::fclose(f);
    }
  }
  return 0;
}
