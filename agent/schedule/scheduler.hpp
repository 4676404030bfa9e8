#pragma once
// Runs each probe in a loop of its own on the event loop, timed by its ProbeSchedule:
// wait, run (bounded by the probe's deadline), hand the result over, ask the schedule
// for the next delay. stop() cancels every loop at its next wait or mid-run; a result
// that arrives after stop() is dropped.

#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agent/health/probe_result.hpp"
#include "agent/schedule/probe_schedule.hpp"

namespace guestpulse {

class Probe;

class Scheduler {
 public:
  using ResultHandler = std::function<void(Probe& probe, const ProbeResult& result)>;

  // `settings` gives every probe's stagger, jitter and backoff; the interval is each
  // probe's own. `random` is shared by every probe's schedule.
  Scheduler(boost::asio::any_io_executor executor, ScheduleSettings settings, UnitRandom random,
            ResultHandler onResult);
  ~Scheduler();

  // Adds a probe (before start()); `failingAtStart` from the restored health state.
  void add(Probe& probe, bool failingAtStart);
  void start();
  void stop();
  bool stopped() const { return stopped_; }

 private:
  struct Loop;
  boost::asio::awaitable<void> run(Loop& loop);

  boost::asio::any_io_executor executor_;
  ScheduleSettings settings_;
  UnitRandom random_;
  ResultHandler onResult_;
  std::vector<std::unique_ptr<Loop>> loops_;
  bool stopped_ = false;
};

}  // namespace guestpulse
