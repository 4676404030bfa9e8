#include "agent/app/internal_probe.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <iostream>

#include "agent/app/probe_factory.hpp"
#include "agent/health/probe_result_json.hpp"
#include "agent/probes/probe.hpp"
#include "platform/process.hpp"

namespace guestpulse {

namespace asio = boost::asio;

int runInternalProbe(const Config& config, Provider provider, const std::string& name,
                     bool alreadyFailing) {
  OneShotProbes run(config, provider);  // the probe runs in this process
  Probe* probe = nullptr;
  for (const auto& p : run.probes)
    if (p->name() == name) probe = p.get();
  if (!probe) {
    std::cerr << "guestpulse internal probe: the configuration has no probe '" << name << "'\n";
    return 3;
  }
  // A hang or a runaway in TLS or certificate code stops here, not in the daemon: the
  // parent's timeout comes first, these are the backstop.
  const auto cpu =
      std::chrono::duration_cast<std::chrono::seconds>(probe->deadline()) + std::chrono::seconds(1);
  platform::limitOwnResources(cpu, kChildProbeMemoryBytes);

  ProbeResult result;
  ProbeRunContext context;
  context.alreadyFailing = alreadyFailing;
  asio::co_spawn(
      run.io,
      [&]() -> asio::awaitable<void> { result = co_await runWithDeadline(*probe, context); },
      asio::detached);
  run.io.run();
  std::cout << probeResultToJson(result) << std::endl;
  return 0;
}

}  // namespace guestpulse
