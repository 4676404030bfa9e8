#include "tests/fake_mds/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <iostream>
#include <stdexcept>
#include <utility>

#include "tests/fake_mds/accept_loop.hpp"
#include "tests/fake_mds/http_session.hpp"
#include "tests/fake_mds/tls_listener.hpp"

namespace guestpulse::fake {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr std::chrono::seconds kStopGrace{2};
}

namespace {

MetadataStore initialStore(const Options& options) {
  std::map<std::string, std::string> values = defaultValues(options.provider);
  for (const auto& [path, value] : options.values) {
    std::string key = normalizeMetadataPath(options.provider, path);
    if (value.empty()) {
      values.erase(key);
    } else {
      values[key] = value;
    }
  }
  return MetadataStore(std::move(values), fixedDirectories(options.provider));
}

}  // namespace

Server::Server(Options options)
    : store(initialStore(options)),
      log(options.requestLogCapacity),
      ec2(options.ec2),
      api(makeProviderApi(options.provider, store, ec2)),
      controlApi(options.provider, store, faults, log, ec2),
      options_(std::move(options)) {
  // Value changes may come from any thread; waiters live on the io thread, so the wake-up
  // is posted there. The event signal serves waitUntil() on test threads.
  store.setOnChange([this] {
    asio::post(ioc_, [this] { wakeWaiters(); });
    signalEvent();
  });
  faults.setOnChange([this] { signalEvent(); });
  log.setOnChange([this] { signalEvent(); });
}

Server::~Server() {
  stop();
  store.setOnChange({});
  faults.setOnChange({});
  log.setOnChange({});
}

void Server::start() {
  std::lock_guard lock(lifecycleMutex_);
  if (started_) throw std::logic_error("FakeMds::start() called twice");

  std::vector<ListenAddress> addresses{{options_.bindAddress, options_.port}};
  addresses.insert(addresses.end(), options_.extraListeners.begin(), options_.extraListeners.end());
  for (const ListenAddress& address : addresses) {
    std::string where = address.host + ":" + std::to_string(address.port);
    error_code ec;
    auto ip = asio::ip::make_address(address.host, ec);
    if (ec) throw std::runtime_error("fake-mds: invalid listen address " + where);
    tcp::endpoint endpoint(ip, address.port);
    tcp::acceptor& acceptor = acceptors_.emplace_back(ioc_);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) {
      ports_.push_back(acceptor.local_endpoint().port());
      continue;
    }
    acceptors_.clear();
    ports_.clear();
    throw std::runtime_error("fake-mds: cannot listen on " + where + ": " + ec.message());
  }

  if (options_.https) {
    try {
      tls_ = std::make_unique<TlsListener>(*this, ioc_, *options_.https);
    } catch (...) {
      acceptors_.clear();
      ports_.clear();
      throw;
    }
  }

  log.setEpoch(std::chrono::steady_clock::now());
  for (tcp::acceptor& acceptor : acceptors_) {
    asio::co_spawn(ioc_, acceptLoop(acceptor), asio::detached);
  }
  if (tls_) tls_->startAccepting();
  started_ = true;
  thread_ = std::thread([this] {
    ioc_.run();
    std::lock_guard lock(lifecycleMutex_);
    finished_ = true;
    finishedCv_.notify_all();
  });
}

void Server::stop() {
  std::unique_lock lock(lifecycleMutex_);
  if (!thread_.joinable()) return;
  asio::post(ioc_, [this] { shutdownOnLoop(); });
  // Two phases: let every session notice the shutdown and unwind; if one is stuck, stop
  // the loop outright (its frame is destroyed with the io_context).
  if (!finishedCv_.wait_for(lock, kStopGrace, [this] { return finished_; })) ioc_.stop();
  lock.unlock();
  thread_.join();
}

std::vector<std::uint16_t> Server::ports() const {
  std::lock_guard lock(lifecycleMutex_);
  return ports_;
}

std::uint16_t Server::httpsPort() const {
  std::lock_guard lock(lifecycleMutex_);
  return tls_ ? tls_->port() : 0;
}

std::uint64_t Server::tlsHandshakes() const {
  std::lock_guard lock(lifecycleMutex_);
  return tls_ ? tls_->handshakes() : 0;
}

std::uint64_t Server::tlsHandshakeFailures() const {
  std::lock_guard lock(lifecycleMutex_);
  return tls_ ? tls_->handshakeFailures() : 0;
}

bool Server::waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(eventMutex_);
  for (;;) {
    std::uint64_t seen = eventCount_;
    // Evaluated without eventMutex_: the condition takes the log/store/fault locks, and
    // their change callbacks take eventMutex_ after releasing them.
    lock.unlock();
    if (condition()) return true;
    lock.lock();
    if (!eventCv_.wait_until(lock, deadline, [&] { return eventCount_ != seen; })) {
      lock.unlock();
      return condition();
    }
  }
}

void Server::finishRequest(std::uint64_t seq, int status, int ipTtl) {
  auto record = log.finish(seq, status, std::chrono::steady_clock::now(), ipTtl);
  if (!record || !options_.onRequest) return;
  try {
    options_.onRequest(*record);
  } catch (const std::exception& e) {
    std::cerr << "fake-mds: onRequest callback threw: " << e.what() << "\n";
  }
}

void Server::countWaiting(int delta) {
  waiting_ += static_cast<std::size_t>(delta);
  signalEvent();
}

void Server::signalEvent() {
  {
    std::lock_guard lock(eventMutex_);
    ++eventCount_;
  }
  eventCv_.notify_all();
}

void Server::wakeWaiters() {
  // wake() only cancels a timer; the session removes itself when it resumes, later.
  for (SessionBase* s : waiters_) s->wake();
}

void Server::shutdownOnLoop() {
  stopping_ = true;
  error_code ec;
  for (tcp::acceptor& acceptor : acceptors_) acceptor.close(ec);
  if (tls_) tls_->close();
  for (SessionBase* s : sessions_) s->abort();
}

asio::awaitable<void> Server::acceptLoop(tcp::acceptor& acceptor) {
  // Named locals, not temporaries in the co_await: GCC 12 destroys those twice.
  auto stopped = [this] { return stopping_; };
  auto serve = [this](tcp::socket socket) {
    asio::co_spawn(ioc_, runPlainSession(std::move(socket)), asio::detached);
  };
  co_await acceptConnections(acceptor, stopped, serve);
}

asio::awaitable<void> Server::runPlainSession(tcp::socket socket) {
  try {
    HttpSession<beast::tcp_stream> session(*this, beast::tcp_stream(std::move(socket)));
    co_await session.run();
  } catch (const std::exception& e) {
    // A bug in the fake must not take the listener down with it; say so and drop the
    // connection.
    std::cerr << "fake-mds: session failed: " << e.what() << "\n";
  }
}

}  // namespace guestpulse::fake
