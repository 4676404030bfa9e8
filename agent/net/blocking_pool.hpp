#pragma once
// A small thread pool for work that can block in the OS (getaddrinfo, reading firewall
// state, exec probes), so a hung resolver never stalls the event loop. The awaiting
// coroutine gets its answer or, at the deadline, nullopt; a late answer is discarded.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/core/duration.hpp"

namespace guestpulse {

class BlockingPool {
 public:
  explicit BlockingPool(int threads = 2);
  // Joins the threads unless a job is still running (a resolver hung in the kernel
  // cannot be interrupted): then the pool is abandoned so shutdown stays bounded.
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs a copy of `work` on the pool. Resumes with its result, or nullopt if `deadline`
  // passed first or the awaiting coroutine was cancelled.
  //
  // Pass a named std::function, never a lambda written inside the co_await expression:
  // GCC 12 destroys capturing lambda temporaries in a co_await expression twice.
  template <class T>
  boost::asio::awaitable<std::optional<T>> run(const std::function<T()>& work, Duration deadline);

  int inFlight() const { return inFlight_->load(); }

 private:
  boost::asio::thread_pool* pool_;
  std::shared_ptr<std::atomic<int>> inFlight_ = std::make_shared<std::atomic<int>>(0);
};

template <class T>
boost::asio::awaitable<std::optional<T>> BlockingPool::run(const std::function<T()>& work,
                                                           Duration deadline) {
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  struct Rendezvous {
    explicit Rendezvous(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
    std::optional<T> result;
    bool abandoned = false;
  };
  auto rendezvous = std::make_shared<Rendezvous>(executor);
  rendezvous->timer.expires_after(deadline);
  auto inFlight = inFlight_;
  ++*inFlight;
  asio::post(*pool_, [rendezvous, work, executor, inFlight]() mutable {
    T value = work();
    --*inFlight;
    // Hand the value back on the loop's thread; only that thread touches rendezvous.
    asio::post(executor, [rendezvous, value = std::move(value)]() mutable {
      if (rendezvous->abandoned) return;
      rendezvous->result = std::move(value);
      rendezvous->timer.cancel();
    });
  });
  co_await rendezvous->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  rendezvous->abandoned = true;
  co_return std::move(rendezvous->result);
}

}  // namespace guestpulse
