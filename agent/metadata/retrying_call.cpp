#include "agent/metadata/retrying_call.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace guestpulse {

namespace asio = boost::asio;

asio::awaitable<MetadataResult> callWithRetries(HttpClient& http, RetryingCall call,
                                                UnitRandom random) {
  RetryPolicy policy(call.retry, std::move(random));
  MetadataResult result;
  result.target = call.request.target;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Duration waited{0};
  for (;;) {
    if (call.counters) ++call.counters->requests;
    HttpResult attempt = co_await http.request(call.request, call.timeout, call.tls);
    if (!attempt.ok() && call.counters) ++call.counters->transportErrors;
    const bool answered = attempt.ok();
    const int status = answered ? attempt.response->status : 0;
    result.flavorOk =
        answered && (!call.signature ||
                     attempt.response->header(call.signature->first) == call.signature->second);
    const bool finalOutcome = call.isFinal && call.isFinal(attempt);
    result.attempts.push_back({std::move(attempt), waited});

    if (status >= 200 && status < 300) break;
    if (answered && !result.flavorOk) break;
    if (finalOutcome) break;
    const bool transient = std::find(call.transientStatuses.begin(), call.transientStatuses.end(),
                                     status) != call.transientStatuses.end();
    auto delay = policy.onFailure(!answered   ? AttemptOutcome::transport()
                                  : transient ? AttemptOutcome::transientStatus(status)
                                              : AttemptOutcome::status(status));
    if (!delay) break;
    if (call.counters) ++call.counters->retries;
    timer.expires_after(*delay);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) break;  // cancelled: the caller's deadline or shutdown
    waited = *delay;
  }
  co_return result;
}

}  // namespace guestpulse
