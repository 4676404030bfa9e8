#include "agent/probes/probe_in_child.hpp"

#include "agent/health/probe_result_json.hpp"
#include "agent/net/blocking_pool.hpp"
#include "platform/exec.hpp"

namespace guestpulse {

namespace {

// runCommand itself is bounded by timeout + killGrace + about 1.2 s (reaping, the last
// output); the pool wait allows for that.
constexpr Duration kPoolMargin = std::chrono::milliseconds(1500);

ProbeResult isolationFailed(const std::string& name, const std::string& what) {
  return ProbeResult::failed("agent.probe_isolation_failed",
                             "probe " + name + " runs in a child process, which " + what,
                             "report this with the agent's log; meanwhile the probe can run in "
                             "the agent itself with `guestpulse check`");
}

}  // namespace

ProbeResult childProbeResult(const std::string& name, int exitCode, bool timedOut,
                             const std::string& output, Duration timeout) {
  if (timedOut)
    return ProbeResult::failed(
        "agent.probe_timeout",
        "probe " + name + " did not finish within " + formatDuration(timeout) + " and was stopped",
        "a step hung past every per-step timeout; report this with the "
        "agent's log");
  // The result is the last line: anything the child logged comes before it.
  std::string last = output;
  while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
  if (auto newline = last.rfind('\n'); newline != std::string::npos) last.erase(0, newline + 1);
  if (exitCode == 0)
    if (auto result = probeResultFromJson(last)) return *result;
  std::string said = last.size() > 200 ? last.substr(0, 200) + "..." : last;
  return isolationFailed(
      name, "ended with exit code " + std::to_string(exitCode) +
                (said.empty() ? " and printed no result" : " without a result: '" + said + "'"));
}

boost::asio::awaitable<ProbeResult> runProbeInChild(BlockingPool& pool, const ChildProbeSpec& spec,
                                                    const std::string& name,
                                                    ProbeRunContext context, Duration timeout) {
  platform::ExecRequest request;
  request.argv = {spec.executable, "internal", "probe", name};
  if (!spec.configPath.empty()) {
    request.argv.push_back("-c");
    request.argv.push_back(spec.configPath);
  }
  if (!spec.provider.empty()) {
    request.argv.push_back("--provider");
    request.argv.push_back(spec.provider);
  }
  if (context.alreadyFailing) request.argv.push_back("--already-failing");
  request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  request.killGrace = std::chrono::duration_cast<std::chrono::milliseconds>(spec.killGrace);
  request.outputLimit = 64 * 1024;
  // Named, not a temporary inside the co_await (GCC 12, see blocking_pool.hpp).
  std::function<platform::ExecResult()> job = [request] { return platform::runCommand(request); };
  std::optional<platform::ExecResult> ran =
      co_await pool.run<platform::ExecResult>(job, timeout + spec.killGrace + kPoolMargin);
  if (!ran) co_return childProbeResult(name, -1, true, {}, timeout);
  const platform::ExecResult& r = *ran;
  switch (r.outcome) {
    case platform::ExecOutcome::SpawnFailed:
      co_return isolationFailed(name, "could not start: " + r.error);
    case platform::ExecOutcome::TimedOut:
      co_return childProbeResult(name, -1, true, r.output, timeout);
    case platform::ExecOutcome::Signaled:
      co_return isolationFailed(name, "died of " + platform::signalName(r.signal));
    case platform::ExecOutcome::Exited:
      break;
  }
  co_return childProbeResult(name, r.exitCode, false, r.output, timeout);
}

}  // namespace guestpulse
