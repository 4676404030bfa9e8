#include "agent/net/name_resolver.hpp"

#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "agent/net/blocking_pool.hpp"

namespace guestpulse {

namespace asio = boost::asio;

asio::awaitable<NameResolution> NameResolver::resolve(std::string name, Duration deadline) {
  NameResolution result;
  result.name = name;
  auto& busy = inFlight_[name];
  if (busy && *busy) {
    result.stillPending = true;
    result.timedOut = true;
    co_return result;
  }
  // The flag is shared with the pool job, which clears it when getaddrinfo returns, even
  // long after this coroutine gave up waiting.
  busy = std::make_shared<std::atomic<bool>>(true);
  auto flag = busy;
  SteadyTime start = SteadyClock::now();
  struct Outcome {
    boost::system::error_code error;
    std::vector<std::string> addresses;
  };
  std::function<Outcome()> lookup = [name, flag] {
    asio::io_context local;
    asio::ip::tcp::resolver resolver(local);
    Outcome out;
    auto results = resolver.resolve(name, "80", out.error);
    if (!out.error)
      for (const auto& entry : results) {
        std::string address = entry.endpoint().address().to_string();
        if (std::find(out.addresses.begin(), out.addresses.end(), address) == out.addresses.end())
          out.addresses.push_back(address);
      }
    *flag = false;
    return out;
  };
  std::optional<Outcome> outcome = co_await pool_.run<Outcome>(lookup, deadline);
  result.elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
  if (!outcome) {
    result.timedOut = true;
    co_return result;
  }
  result.error = outcome->error;
  result.addresses = std::move(outcome->addresses);
  co_return result;
}

}  // namespace guestpulse
