#include "agent/net/blocking_pool.hpp"

namespace guestpulse {

BlockingPool::BlockingPool(int threads) : pool_(new boost::asio::thread_pool(threads)) {}

BlockingPool::~BlockingPool() {
  pool_->stop();
  if (inFlight_->load() == 0) {
    pool_->join();
    delete pool_;
  }
  // else: deliberately leaked; the process is exiting and joining could hang.
}

}  // namespace guestpulse
