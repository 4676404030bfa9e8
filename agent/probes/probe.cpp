#include "agent/probes/probe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/core/text.hpp"

namespace guestpulse {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

ProbeResult boundedResult(ProbeResult result) {
  auto bound = [](std::string& text) {
    if (hasControls(text)) text = escapeControls(text);
    if (text.size() > kMaxResultText) text = clipText(text, kMaxResultText);
  };
  bound(result.cause);
  bound(result.message);
  bound(result.fix);
  for (auto& [key, value] : result.details) bound(value);
  return result;
}

asio::awaitable<ProbeResult> runWithDeadline(Probe& probe, ProbeRunContext context) {
  asio::steady_timer deadline(co_await asio::this_coro::executor);
  deadline.expires_after(probe.deadline());
  auto outcome =
      co_await (probe.run(context) || deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (outcome.index() == 0) co_return boundedResult(std::get<0>(std::move(outcome)));
  co_return ProbeResult::failed(
      "agent.probe_timeout",
      "probe " + probe.name() + " did not finish within " + formatDuration(probe.deadline()),
      "a step hung past every per-step timeout; report this with the agent's log");
}

}  // namespace guestpulse
