#pragma once
// Server: the listeners, the server thread and the shared state behind the public
// API. Internal to fake_mds_lib (pulls in Asio); sessions reach the state through it.
//
// Thread rules: store, faults, log and the two APIs are thread-safe. sessions_,
// waiters_, acceptors_ and stopping_ belong to the io_context thread (the acceptors are
// only touched elsewhere before the thread starts).

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "tests/fake_mds/control_api.hpp"
#include "tests/fake_mds/ec2_tokens.hpp"
#include "tests/fake_mds/fake_mds.hpp"
#include "tests/fake_mds/fault_table.hpp"
#include "tests/fake_mds/metadata_store.hpp"
#include "tests/fake_mds/provider_api.hpp"
#include "tests/fake_mds/request_log.hpp"

namespace guestpulse::fake {

// What the server needs from a connection, whatever its transport.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void abort() = 0;  // close now; pending operations end with an error
  virtual void wake() = 0;   // a metadata value changed: re-check a wait_for_change
};

class TlsListener;

class Server {
 public:
  explicit Server(Options options);
  ~Server();

  void start();
  void stop();
  std::vector<std::uint16_t> ports() const;
  std::uint16_t httpsPort() const;  // 0 without an HTTPS listener
  std::uint64_t tlsHandshakes() const;
  std::uint64_t tlsHandshakeFailures() const;
  bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

  const Options& options() const { return options_; }

  MetadataStore store;
  FaultTable faults;
  RequestLog log;
  Ec2Imds ec2;
  std::unique_ptr<ProviderApi> api;  // options().provider's; server thread only
  ControlApi controlApi;

  // ---- for sessions, on the io thread only ----
  bool stopping() const { return stopping_; }
  void addSession(SessionBase* s) { sessions_.insert(s); }
  void removeSession(SessionBase* s) {
    sessions_.erase(s);
    waiters_.erase(s);
  }
  void addWaiter(SessionBase* s) { waiters_.insert(s); }
  void removeWaiter(SessionBase* s) { waiters_.erase(s); }
  // A wait_for_change request starts (+1) or ends (-1) holding its answer.
  void countWaiting(int delta);
  std::size_t waitingRequests() const { return waiting_.load(); }
  // Completes a log entry and reports it to Options::onRequest.
  void finishRequest(std::uint64_t seq, int status, int ipTtl = 0);

 private:
  void signalEvent();
  void wakeWaiters();
  void shutdownOnLoop();
  boost::asio::awaitable<void> acceptLoop(boost::asio::ip::tcp::acceptor& acceptor);
  boost::asio::awaitable<void> runPlainSession(boost::asio::ip::tcp::socket socket);

  Options options_;

  std::mutex eventMutex_;
  std::condition_variable eventCv_;
  std::uint64_t eventCount_ = 0;
  std::atomic<std::size_t> waiting_{0};

  std::unordered_set<SessionBase*> sessions_;
  std::unordered_set<SessionBase*> waiters_;
  bool stopping_ = false;

  // Declared after everything a coroutine frame touches: if a forced stop leaves frames
  // behind, destroying the io_context destroys them while that state still exists.
  boost::asio::io_context ioc_{1};
  std::list<boost::asio::ip::tcp::acceptor> acceptors_;
  std::vector<std::uint16_t> ports_;
  std::unique_ptr<TlsListener> tls_;  // Options::https

  mutable std::mutex lifecycleMutex_;
  std::condition_variable finishedCv_;
  bool finished_ = false;
  bool started_ = false;
  std::thread thread_;
};

}  // namespace guestpulse::fake
