#include "agent/app/agent.hpp"

#include <algorithm>
#include <filesystem>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/app/probe_factory.hpp"
#include "agent/app/state_store.hpp"
#include "agent/core/logging.hpp"
#include "agent/core/state_file_writer.hpp"
#include "agent/core/text.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/probe.hpp"
#include "agent/report/guest_attribute_reporter.hpp"
#include "agent/report/guest_attribute_sink.hpp"
#include "agent/report/metrics.hpp"
#include "agent/report/metrics_server.hpp"
#include "agent/report/serial_reporter.hpp"
#include "agent/report/serial_sink.hpp"
#include "agent/schedule/scheduler.hpp"
#include "platform/exec.hpp"
#include "platform/files.hpp"
#include "platform/inspector.hpp"
#include "platform/service_host.hpp"

namespace guestpulse {

namespace asio = boost::asio;

namespace {
// How long a reload may take to read the config file before it is given up.
constexpr Duration kReloadReadBound = std::chrono::seconds(5);
// health.json holds a few KiB per probe; more was not written by this agent.
constexpr std::size_t kMaxHealthFileBytes = 256 * 1024;
}  // namespace

Duration startupSpread(const Config& config) {
  return std::min<Duration>(config.probes.metadata.interval, std::chrono::seconds(30));
}

Agent::Agent(asio::io_context& io, Config config, AgentOptions options)
    : io_(io),
      config_(std::move(config)),
      options_(std::move(options)),
      random_(options_.random ? options_.random : makeUnitRandom()),
      provider_(options_.provider ? *options_.provider : configuredProvider(config_)),
      pool_(std::make_unique<BlockingPool>(2)),
      stateWriter_(std::make_unique<StateFileWriter>()),
      http_(std::make_unique<HttpClient>(io.get_executor(), *pool_)),
      heartbeatTimer_(io) {
  metadata_ = makeMetadataClient(config_, *http_, random_, provider_.provider);
  inspector_ = options_.inspector ? options_.inspector : platform::makeInspector();
  ProbeDeps deps{*metadata_, *http_, *pool_, inspector_, provider_.provider};
  if (!options_.selfExecutable.empty())
    deps.child = ChildProbeSpec{options_.selfExecutable, options_.configPath,
                                std::string(toString(provider_.provider))};
  probes_ = makeProbes(config_, deps);
  for (const auto& probe : probes_) health_.addProbe(probe->name());
  restoreState();

  ScheduleSettings schedule;
  const Duration spread = options_.startupSpread.value_or(startupSpread(config_));
  schedule.initialStagger = spread;
  schedule.backoff = retrySettings(config_);
  scheduler_ = std::make_unique<Scheduler>(
      io.get_executor(), schedule, random_,
      [this](Probe& probe, const ProbeResult& result) { onResult(probe.name(), result); });
  for (const auto& probe : probes_) {
    const ProbeHealth* restored = health_.probe(probe->name());
    scheduler_->add(*probe, restored && restored->known && restored->state != State::Ok);
  }

  if (config_.report.serial.enabled) {
    serial_ = std::make_unique<SerialConsoleSink>(config_.report.serial.device);
    serialReporter_ = std::make_unique<SerialReporter>(
        [sink = serial_.get()](std::string line) { sink->post(std::move(line)); },
        config_.report.serial.reminder);
  }
  if (config_.report.guestAttributes.enabled && hasGuestAttributes(provider_.provider)) {
    GuestAttributeSink::Options sinkOptions;
    sinkOptions.ns = config_.report.guestAttributes.ns;
    if (stateDirUsable_) sinkOptions.persistPath = statePath("guest-attributes.json");
    sinkOptions.writer = stateWriter_.get();
    sinkOptions.spread = spread;
    attributes_ = std::make_unique<GuestAttributeSink>(io.get_executor(), *metadata_, sinkOptions,
                                                       metadata_->retrySettings(), random_);
    attributeReporter_ = std::make_unique<GuestAttributeReporter>(*attributes_);
    attributes_->onDisabledChange([this](bool disabled, const std::string& detail) {
      if (!serialReporter_ || !disabled) return;
      serialReporter_->note("WARN", "guest attributes are disabled on this VM: " + detail,
                            WallClock::now(), "guest_attributes.disabled",
                            "gcloud compute instances add-metadata VM "
                            "--metadata=enable-guest-attributes=TRUE");
    });
  }
}

Agent::~Agent() = default;

std::string Agent::statePath(const std::string& file) const {
  return (std::filesystem::path(config_.report.stateDir) / file).string();
}

void Agent::restoreState() {
  auto log = logger("agent");
  if (std::string error = platform::ensureDirectory(config_.report.stateDir); !error.empty()) {
    log->warn("state_dir unusable ({}); running without persistence", error);
    return;
  }
  stateDirUsable_ = true;
  platform::FileRead read =
      platform::readRegularFile(statePath("health.json"), kMaxHealthFileBytes);
  if (!read.content) {
    if (!read.missing) log->warn("ignoring {}: {}", statePath("health.json"), read.error);
    return;
  }
  int restored = healthFromJson(health_, *read.content, Timestamp::now());
  if (restored < 0)
    log->warn("ignoring unreadable {}", statePath("health.json"));
  else if (restored > 0)
    log->info("restored the state of {} probe(s) from {}", restored, statePath("health.json"));
}

void Agent::saveHealth() {
  if (!stateDirUsable_) return;
  stateWriter_->write(statePath("health.json"), healthToJson(health_, WallClock::now()), true);
}

void Agent::writeStatusFile(Timestamp now) {
  if (!stateDirUsable_) return;
  StatusExtras extras;
  extras.version = GUESTPULSE_VERSION;
  extras.started = started_;
  extras.endpoint = metadata_->endpoint().display();
  extras.provider = std::string(toString(provider_.provider));
  extras.providerReason = provider_.reason;
  if (attributes_) {
    extras.attributesEnabled = true;
    extras.attributesPending = attributes_->queue().size();
    extras.attributesDisabled = attributes_->disabled();
    extras.attributeWrites = attributes_->counters().writes;
  }
  if (serial_) {
    extras.serialWritten = serial_->written();
    extras.serialDropped = serial_->dropped();
  }
  stateWriter_->write(statePath("status.json"), statusToJson(health_, extras, now), false);
}

void Agent::start() {
  auto log = logger("agent");
  std::string names;
  for (const auto& probe : probes_) names += (names.empty() ? "" : ",") + probe->name();
  const std::string provider(toString(provider_.provider));
  log->info("guestpulse {} starting: provider {} ({}), endpoint {}, probes [{}]",
            GUESTPULSE_VERSION, provider, provider_.reason, metadata_->endpoint().display(), names);
  if (serialReporter_)
    serialReporter_->note(
        "INFO",
        "guestpulse " GUESTPULSE_VERSION " started, provider=" + provider + ", probes=" + names,
        WallClock::now());
  if (config_.report.guestAttributes.enabled && !attributes_) {
    // Said once, as a fact: the reports still go everywhere else.
    const std::string off = "guest attributes are a GCE feature: off on " + provider +
                            "; the serial console, the status file, metrics and the log carry "
                            "the reports";
    log->info("{}", off);
    if (serialReporter_) serialReporter_->note("INFO", off, WallClock::now());
  }

  platform::allowCommands();
  scheduler_->start();
  if (attributes_) asio::co_spawn(io_, attributes_->run(), asio::detached);
  asio::co_spawn(io_, heartbeatLoop(), asio::detached);
  if (!config_.report.metrics.listen.empty()) {
    metrics_ = std::make_unique<MetricsServer>(
        io_.get_executor(), MetricsServer::Options{config_.report.metrics.listen},
        [this, provider = std::string(toString(provider_.provider)),
         source = std::string(provider_.detected ? "detected" : "configured")] {
          MetricsSnapshot snapshot = snapshotFrom(health_, metadata_->counters(), attributes_.get(),
                                                  serial_.get(), started_, GUESTPULSE_VERSION);
          snapshot.provider = provider;
          snapshot.providerSource = source;
          return renderPrometheus(snapshot);
        });
    if (std::string error = metrics_->start(); !error.empty()) {
      log->error("{}; running without metrics", error);
      metrics_.reset();
    } else {
      log->info("metrics on http://{}/metrics", config_.report.metrics.listen);
    }
  }
  platform::notifyReady();
}

void Agent::onResult(const std::string& name, const ProbeResult& result) {
  auto log = logger("health");
  Timestamp now = Timestamp::now();
  ++cycles_;
  lastCycleWall_ = now.wall;
  std::optional<Transition> transition = health_.update(name, result, now);
  if (transition) {
    auto level = transition->to == State::Ok         ? spdlog::level::info
                 : transition->to == State::Degraded ? spdlog::level::warn
                                                     : spdlog::level::err;
    log->log(level, "probe {} {} -> {}{}{}", name,
             transition->from ? toString(*transition->from) : "(start)", toString(transition->to),
             result.cause.empty() ? "" : " " + result.cause,
             result.message.empty() ? "" : ": " + result.message);
    // Health state first: if the process dies right after, the restart must know about
    // this transition before anything else is delivered in its name.
    saveHealth();
    if (serialReporter_) serialReporter_->onTransition(*transition);
    if (attributeReporter_) attributeReporter_->onTransition(*transition, health_);
    platform::notifyStatus(statusSummary(health_));
  }
  // Every result, transition or not: reminders and flapping summaries are due by time.
  if (serialReporter_) serialReporter_->onResult(name, *health_.probe(name), now);
  if (attributeReporter_) attributeReporter_->onResult(health_, now);
  writeStatusFile(now);
}

asio::awaitable<void> Agent::heartbeatLoop() {
  Duration period = config_.report.guestAttributes.heartbeat;
  auto watchdog = platform::watchdogInterval();
  if (watchdog && *watchdog / 2 < period) period = *watchdog / 2;
  SteadyTime nextHeartbeat = SteadyClock::now() + config_.report.guestAttributes.heartbeat;
  while (!stopping_) {
    heartbeatTimer_.expires_after(period);
    if (auto [ec] = co_await heartbeatTimer_.async_wait(asio::as_tuple(asio::use_awaitable)); ec)
      co_return;
    if (watchdog) platform::notifyWatchdog();
    if (SteadyClock::now() + std::chrono::milliseconds(50) < nextHeartbeat) continue;
    nextHeartbeat = SteadyClock::now() + config_.report.guestAttributes.heartbeat;
    // The heartbeat is the time of the last completed cycle: if loops stall, it goes stale
    // even though this timer still fires.
    if (attributeReporter_ && lastCycleWall_) attributeReporter_->heartbeat(*lastCycleWall_);
  }
}

asio::awaitable<void> Agent::reload() {
  auto log = logger("agent");
  if (options_.configPath.empty()) {
    log->info("reload: no config file in use; nothing to reload");
    co_return;
  }
  // The file is read on the pool: a config on a hung network file system must not stall
  // the probes, the heartbeat or /metrics (and a FIFO is refused without waiting).
  const std::string path = options_.configPath;
  std::function<ConfigLoadResult()> read = [path] { return loadConfigFile(path); };
  std::optional<ConfigLoadResult> loaded =
      co_await pool_->run<ConfigLoadResult>(read, kReloadReadBound);
  if (stopping_) co_return;
  std::string problems;
  if (!loaded) {
    problems = "reading " + path + " did not finish within " + formatDuration(kReloadReadBound);
  } else if (!loaded->config) {
    for (const auto& problem : loaded->problems)
      problems += (problems.empty() ? "" : "\n") + path + ": " + problem.toString();
  }
  if (!problems.empty()) {
    // The same problems again (100 SIGHUPs with the same bad file) are said once.
    if (problems == lastReloadProblems_) {
      log->info(
          "reload: {} still has the problems reported before; keeping the running "
          "configuration",
          path);
      co_return;
    }
    lastReloadProblems_ = problems;
    std::size_t start = 0;
    while (start <= problems.size()) {
      std::size_t end = problems.find('\n', start);
      if (end == std::string::npos) end = problems.size();
      log->error("reload: {}", problems.substr(start, end - start));
      start = end + 1;
    }
    log->error("reload: keeping the running configuration");
    if (serialReporter_)
      serialReporter_->note("WARN", "config reload failed; keeping the running configuration",
                            WallClock::now(), "config.invalid",
                            "guestpulse config validate -c " + path);
    co_return;
  }
  lastReloadProblems_.clear();
  applyEnvironmentOverrides(*loaded->config, provider_.provider);
  setLogLevel(loaded->config->log.level);
  if (serialReporter_) serialReporter_->setReminder(loaded->config->report.serial.reminder);
  log->info(
      "reload: log level and serial reminder applied; other changes take effect "
      "on restart");
}

void Agent::requestStop() {
  asio::post(io_, [this] { stop(); });
}

void Agent::requestReload() {
  asio::post(io_, [this] {
    if (stopping_) return;
    if (reloading_) {
      reloadAgain_ = true;  // SIGHUPs during a reload make one more, not one each
      return;
    }
    reloading_ = true;
    asio::co_spawn(
        io_,
        [this]() -> asio::awaitable<void> {
          do {
            reloadAgain_ = false;
            co_await reload();
          } while (reloadAgain_ && !stopping_);
          reloading_ = false;
        },
        asio::detached);
  });
}

void Agent::stop() {
  if (stopping_) return;
  stopping_ = true;
  logger("agent")->info("stopping");
  platform::notifyStopping();
  scheduler_->stop();
  // Exec probes' commands (and whatever they started) end with the agent, not later.
  platform::stopAllCommands();
  heartbeatTimer_.cancel();
  if (metrics_) metrics_->stop();
  asio::co_spawn(io_, shutdown(), asio::detached);
}

asio::awaitable<void> Agent::shutdown() {
  auto log = logger("agent");
  if (attributes_) {
    if (lastCycleWall_) attributeReporter_->heartbeat(*lastCycleWall_);
    co_await attributes_->stopAndDrain(options_.flushBound);
    if (!attributes_->queue().empty())
      log->warn("stopping with {} guest attribute(s) unsent", attributes_->queue().size());
  }
  if (serialReporter_) serialReporter_->note("INFO", "guestpulse stopping", WallClock::now());
  if (serial_) {
    serial_->flush(std::chrono::seconds(1));
    serial_->stop();
  }
  if (!platform::waitForCommands(std::chrono::seconds(3)))
    log->warn("stopping while a custom probe's command is still being killed");
  if (!stateWriter_->flush(std::chrono::seconds(1)))
    log->warn("stopping with state files not written (see the warnings above)");
  log->info("stopped");
}

}  // namespace guestpulse
