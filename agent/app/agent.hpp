#pragma once
// The daemon: one io_context thread running a jittered loop per probe, the health
// model, and the reporters (serial console, guest attributes, heartbeat).
//
// Shutdown (SIGTERM/SIGINT, or requestStop()) is graceful and bounded: loops are
// cancelled, the guest-attribute queue is drained for at most `flushBound`, the serial
// queue for at most 1 s, then run() returns.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/core/random.hpp"
#include "agent/health/health_model.hpp"
#include "config/config.hpp"

namespace guestpulse {

class BlockingPool;
class HttpClient;
class MetadataClient;
class Probe;
class GuestAttributeSink;
class SerialConsoleSink;
class SerialReporter;
class MetricsServer;
namespace platform {
class Inspector;
}

struct AgentOptions {
  UnitRandom random;  // seeded from the OS when empty
  Duration flushBound = std::chrono::seconds(5);
  Duration initialStagger = std::chrono::milliseconds(500);  // max random delay before first cycle
  bool handleSignals = true;                                 // SIGTERM/SIGINT stop, SIGHUP reload
  std::string configPath;  // for SIGHUP reload; empty = defaults only
};

class Agent {
 public:
  Agent(boost::asio::io_context& io, Config config, AgentOptions options = {});
  ~Agent();

  // Starts every loop; returns immediately. The caller runs the io_context.
  void start();
  // Graceful, bounded stop; the io_context runs out of work when it is done.
  void requestStop();

  const HealthModel& health() const { return health_; }
  const GuestAttributeSink* guestAttributes() const { return attributes_.get(); }
  const SerialConsoleSink* serial() const { return serial_.get(); }
  const MetadataClient& metadata() const { return *metadata_; }
  std::uint64_t cyclesCompleted() const { return cycles_; }

 private:
  boost::asio::awaitable<void> probeLoop(Probe& probe, boost::asio::cancellation_slot slot);
  boost::asio::awaitable<ProbeResult> runOnce(Probe& probe);
  boost::asio::awaitable<void> heartbeatLoop();
  boost::asio::awaitable<void> shutdown();
  void onResult(const std::string& probe, const ProbeResult& result);
  void publishAttributes(const Transition& transition);
  void publishSnapshot(Timestamp now);
  void restoreState();
  void saveHealth();
  void writeStatusFile(Timestamp now);
  std::string statePath(const std::string& file) const;
  void handleSignals();
  void reload();
  Duration jitter(Duration base, double fraction);

  boost::asio::io_context& io_;
  Config config_;
  AgentOptions options_;
  UnitRandom random_;
  std::unique_ptr<BlockingPool> pool_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<MetadataClient> metadata_;
  std::shared_ptr<platform::Inspector> inspector_;
  std::vector<std::unique_ptr<Probe>> probes_;
  HealthModel health_;
  std::unique_ptr<SerialConsoleSink> serial_;
  std::unique_ptr<SerialReporter> serialReporter_;
  std::unique_ptr<GuestAttributeSink> attributes_;
  std::vector<std::unique_ptr<boost::asio::cancellation_signal>> loopCancels_;
  boost::asio::steady_timer heartbeatTimer_;
  std::optional<WallTime> lastCycleWall_;
  std::uint64_t cycles_ = 0;
  WallTime started_ = WallClock::now();
  bool stateDirUsable_ = false;
  bool stopping_ = false;
  struct Signals;
  std::unique_ptr<Signals> signals_;
  // Last: destroyed first, since its render callback reads the members above.
  std::unique_ptr<MetricsServer> metrics_;
};

// Builds the metadata client for a config (endpoint parsed, GCE_METADATA_HOST applied
// by the config loader). Throws std::invalid_argument on an endpoint that does not parse.
std::unique_ptr<MetadataClient> makeMetadataClient(const Config& config, HttpClient& http,
                                                   UnitRandom random);

}  // namespace guestpulse
