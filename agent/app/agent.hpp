#pragma once
// The daemon: the probes on a Scheduler, the health model, and the reporters (serial
// console, guest attributes, status file, metrics) on one io_context thread.
//
// Shutdown (requestStop(), from any thread) is graceful and bounded: loops are cancelled,
// the guest-attribute queue is drained for at most `flushBound`, the serial queue for at
// most 1 s, then the io_context runs out of work. The OS's stop and reload requests
// (signals, the Windows SCM) reach requestStop() and requestReload() through
// platform::ServiceEvents, wired up by the `run` command.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/random.hpp"
#include "agent/health/health_model.hpp"
#include "agent/provider/provider_detection.hpp"
#include "config/config.hpp"

namespace guestpulse {

class BlockingPool;
class HttpClient;
class MetadataClient;
class Probe;
class Scheduler;
class GuestAttributeSink;
class GuestAttributeReporter;
class SerialConsoleSink;
class SerialReporter;
class MetricsServer;
class StateFileWriter;
namespace platform {
class Inspector;
}

struct AgentOptions {
  UnitRandom random;  // seeded from the OS when empty
  Duration flushBound = std::chrono::seconds(5);
  Duration initialStagger = std::chrono::milliseconds(500);  // max random delay before first cycle
  std::string configPath;                                    // for reload; empty = defaults only
  // This program, to run TLS probes in a child of it ("" = run them in this process).
  std::string selfExecutable;
  // The host evidence of the probes; null = this OS's inspector. Tests give one reading
  // fake tools.
  std::shared_ptr<platform::Inspector> inspector;
  // The provider the agent runs on, as resolved at start (provider_detector.hpp); unset:
  // the configured one, with auto taken as GCE.
  std::optional<ProviderChoice> provider;
};

class Agent {
 public:
  Agent(boost::asio::io_context& io, Config config, AgentOptions options = {});
  ~Agent();

  // Starts every loop; returns immediately. The caller runs the io_context.
  void start();
  // Graceful, bounded stop. Safe from any thread: posted onto the io_context.
  void requestStop();
  // Re-reads the config file (SIGHUP). Safe from any thread: posted onto the io_context.
  void requestReload();

  const HealthModel& health() const { return health_; }
  const GuestAttributeSink* guestAttributes() const { return attributes_.get(); }
  const SerialConsoleSink* serial() const { return serial_.get(); }
  const MetadataClient& metadata() const { return *metadata_; }
  const ProviderChoice& provider() const { return provider_; }
  std::uint64_t cyclesCompleted() const { return cycles_; }

 private:
  boost::asio::awaitable<void> heartbeatLoop();
  boost::asio::awaitable<void> shutdown();
  boost::asio::awaitable<void> reload();
  void stop();
  void onResult(const std::string& probe, const ProbeResult& result);
  void restoreState();
  void saveHealth();
  void writeStatusFile(Timestamp now);
  std::string statePath(const std::string& file) const;

  boost::asio::io_context& io_;
  Config config_;
  AgentOptions options_;
  UnitRandom random_;
  ProviderChoice provider_;
  std::unique_ptr<BlockingPool> pool_;
  // Writes state files off the loop; declared early so it outlives every user below.
  std::unique_ptr<StateFileWriter> stateWriter_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<MetadataClient> metadata_;
  std::shared_ptr<platform::Inspector> inspector_;
  std::vector<std::unique_ptr<Probe>> probes_;
  HealthModel health_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<SerialConsoleSink> serial_;
  std::unique_ptr<SerialReporter> serialReporter_;
  std::unique_ptr<GuestAttributeSink> attributes_;
  std::unique_ptr<GuestAttributeReporter> attributeReporter_;
  boost::asio::steady_timer heartbeatTimer_;
  std::optional<WallTime> lastCycleWall_;
  std::uint64_t cycles_ = 0;
  WallTime started_ = WallClock::now();
  bool stateDirUsable_ = false;
  bool stopping_ = false;
  bool reloading_ = false;          // a reload is reading the file on the pool
  bool reloadAgain_ = false;        // another SIGHUP came meanwhile
  std::string lastReloadProblems_;  // of the last failed reload, said once per episode
  // Last: destroyed first, since its render callback reads the members above.
  std::unique_ptr<MetricsServer> metrics_;
};

}  // namespace guestpulse
