#include "agent/schedule/scheduler.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/core/logging.hpp"
#include "agent/probes/probe.hpp"

namespace guestpulse {

namespace asio = boost::asio;

struct Scheduler::Loop {
  Loop(Probe& p, ProbeSchedule s) : probe(p), schedule(std::move(s)) {}
  Probe& probe;
  ProbeSchedule schedule;
  asio::cancellation_signal cancel;
};

Scheduler::Scheduler(asio::any_io_executor executor, ScheduleSettings settings, UnitRandom random,
                     ResultHandler onResult)
    : executor_(std::move(executor)),
      settings_(settings),
      random_(std::move(random)),
      onResult_(std::move(onResult)) {}

Scheduler::~Scheduler() = default;

void Scheduler::add(Probe& probe, bool failingAtStart) {
  ScheduleSettings settings = settings_;
  settings.interval = probe.interval();
  loops_.push_back(std::make_unique<Loop>(probe, ProbeSchedule(settings, random_, failingAtStart)));
}

void Scheduler::start() {
  for (auto& loop : loops_)
    asio::co_spawn(executor_, run(*loop),
                   asio::bind_cancellation_slot(loop->cancel.slot(), asio::detached));
}

void Scheduler::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& loop : loops_) loop->cancel.emit(asio::cancellation_type::terminal);
}

asio::awaitable<void> Scheduler::run(Loop& loop) {
  auto log = logger("scheduler");
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(loop.schedule.firstDelay());
  if (auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable)); ec) co_return;
  while (!stopped_) {
    ProbeRunContext context;
    context.alreadyFailing = loop.schedule.alreadyFailing();
    ProbeResult result = co_await runWithDeadline(loop.probe, context);
    if (stopped_) co_return;
    onResult_(loop.probe, result);
    Duration delay = loop.schedule.afterRun(result.state);
    log->debug("{}: next cycle in {}", loop.probe.name(), formatDuration(delay));
    timer.expires_after(delay);
    if (auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable)); ec) co_return;
  }
}

}  // namespace guestpulse
