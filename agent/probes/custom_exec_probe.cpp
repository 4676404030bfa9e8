// The exec custom probe: runs the operator's command on its own pool; exit 0 is OK.

#include "agent/net/blocking_pool.hpp"
#include "agent/probes/custom_probes.hpp"
#include "platform/exec.hpp"

namespace guestpulse {

namespace {

// runCommand is itself bounded by timeout + killGrace + about 1.2 s (reaping and the last
// output); the pool wait allows for that, and the scheduler's guard comes last.
constexpr Duration kPoolMargin = std::chrono::milliseconds(1500);
constexpr Duration kDeadlineMargin = std::chrono::seconds(2);

struct ExecJob {
  bool started = false;
  Duration queued{0};  // how long the job waited for a pool thread
  platform::ExecResult result;
};

std::string withOutput(std::string message, const platform::ExecResult& result) {
  std::string line = custom_detail::firstLine(result.output);
  return line.empty() ? message + " (no output)" : message + ": " + line;
}

}  // namespace

ExecCustomProbe::ExecCustomProbe(const CustomProbeConfig& config,
                                 std::shared_ptr<BlockingPool> pool, Duration killGrace)
    : config_(config), pool_(std::move(pool)), killGrace_(killGrace) {}

Duration ExecCustomProbe::deadline() const {
  return config_.timeout + killGrace_ + kDeadlineMargin;
}

boost::asio::awaitable<ProbeResult> ExecCustomProbe::run(ProbeRunContext) {
  using custom_detail::clipLine;
  const std::string command = custom_detail::shellQuote(config_.command);
  const std::string timeoutText = formatDuration(config_.timeout);
  if (!pool_) {
    co_return ProbeResult::failed("custom.exec_error", "exec " + command + ": no pool to run it",
                                  "report this with the agent's log");
  }

  platform::ExecRequest request;
  request.argv = config_.command;
  request.timeout = config_.timeout;
  request.killGrace = killGrace_;
  const SteadyTime queuedAt = SteadyClock::now();
  // Named, not a temporary inside the co_await: GCC 12 destroys a lambda temporary with
  // captures twice when it is an operand of co_await.
  std::function<ExecJob()> job = [request, queuedAt]() mutable {
    ExecJob out;
    out.queued = std::chrono::duration_cast<Duration>(SteadyClock::now() - queuedAt);
    // A command that waited for a thread gets only what is left of its timeout.
    if (out.queued >= request.timeout) return out;
    request.timeout -= out.queued;
    out.started = true;
    out.result = platform::runCommand(request);
    return out;
  };
  std::optional<ExecJob> done =
      co_await pool_->run<ExecJob>(std::move(job), config_.timeout + killGrace_ + kPoolMargin);

  ProbeResult out;
  if (!done) {
    out = ProbeResult::failed("custom.exec_timeout",
                              "no result within " + timeoutText + " (command still being stopped)",
                              "report this with the agent's log");
  } else if (!done->started) {
    out = ProbeResult::failed(
        "custom.exec_timeout",
        "not started: waited " + formatDuration(done->queued) + " for other commands to finish",
        "other exec probes hang; fix them or lower their timeouts");
  } else {
    const platform::ExecResult& r = done->result;
    switch (r.outcome) {
      case platform::ExecOutcome::Exited:
        if (r.exitCode == 0) {
          out = ProbeResult::ok("exit 0 in " + formatLatency(r.elapsed));
        } else {
          out = ProbeResult::failed("custom.exec_failed",
                                    withOutput("exit " + std::to_string(r.exitCode), r),
                                    "run it by hand to see why it fails: " + command);
        }
        break;
      case platform::ExecOutcome::Signaled:
        out = ProbeResult::failed("custom.exec_failed",
                                  withOutput("killed by " + platform::signalName(r.signal), r),
                                  "run it by hand to see why it fails: " + command);
        break;
      case platform::ExecOutcome::TimedOut: {
        std::string message = "killed after " + timeoutText;
        if (r.sigkilled) message += " (ignored SIGTERM for " + formatDuration(killGrace_) + ")";
        out = ProbeResult::failed("custom.exec_timeout", withOutput(std::move(message), r),
                                  "find what it waits for (run it by hand: " + command +
                                      "), or raise the probe's timeout");
        break;
      }
      case platform::ExecOutcome::SpawnFailed:
        out = ProbeResult::failed("custom.exec_error", r.error,
                                  "check the command of custom probe '" + config_.name +
                                      "': the program must exist and be executable by the "
                                      "agent's user");
        break;
    }
    if (r.outcome == platform::ExecOutcome::Exited)
      out.details.emplace_back("exit_code", std::to_string(r.exitCode));
  }
  out.message = clipLine(out.message);
  out.fix = clipLine(out.fix);
  out.details.emplace_back("command", clipLine(command));
  co_return out;
}

}  // namespace guestpulse
