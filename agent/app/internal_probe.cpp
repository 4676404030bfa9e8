#include "agent/app/internal_probe.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>

#include "agent/app/probe_factory.hpp"
#include "agent/health/probe_result_json.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/probe.hpp"
#include "platform/inspector.hpp"
#include "platform/process.hpp"

namespace guestpulse {

namespace asio = boost::asio;

int runInternalProbe(const Config& config, Provider provider, const std::string& name,
                     bool alreadyFailing) {
  asio::io_context io;
  BlockingPool pool(2);
  HttpClient http(io.get_executor(), pool);
  auto metadata = makeMetadataClient(config, http, makeUnitRandom(), provider);
  std::shared_ptr<platform::Inspector> inspector = platform::makeInspector();
  // deps.child stays empty: here the probe runs in this process.
  auto probes = makeProbes(config, ProbeDeps{*metadata, http, pool, inspector, provider});
  Probe* probe = nullptr;
  for (const auto& p : probes)
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
      io, [&]() -> asio::awaitable<void> { result = co_await runWithDeadline(*probe, context); },
      asio::detached);
  io.run();
  std::cout << probeResultToJson(result) << std::endl;
  return 0;
}

}  // namespace guestpulse
