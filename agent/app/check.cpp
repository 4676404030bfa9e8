#include "agent/app/check.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "agent/app/agent.hpp"
#include "agent/app/probe_factory.hpp"
#include "agent/core/text.hpp"
#include "agent/metadata/metadata_client.hpp"
#include "agent/net/blocking_pool.hpp"
#include "agent/net/http_client.hpp"
#include "agent/probes/probe.hpp"
#include "platform/inspector.hpp"

namespace guestpulse {

namespace asio = boost::asio;

State CheckReport::overall() const {
  State s = State::Ok;
  for (const auto& e : entries) s = worst(s, e.result.state);
  return s;
}

int checkExitCode(const CheckReport& report) {
  switch (report.overall()) {
    case State::Ok:
      return 0;
    case State::Degraded:
      return 1;
    case State::Failed:
      return 2;
  }
  return 2;
}

CheckReport runCheck(const Config& config) { return runCheck(config, configuredProvider(config)); }

CheckReport runCheck(const Config& config, const ProviderChoice& provider) {
  OneShotProbes run(config, provider.provider);
  auto& probes = run.probes;

  CheckReport report;
  report.provider = provider;
  report.endpoint = run.metadata->endpoint().display();
  report.entries.resize(probes.size());
  for (std::size_t i = 0; i < probes.size(); ++i) {
    report.entries[i].probe = probes[i]->name();
    asio::co_spawn(
        run.io,
        [&, i]() -> asio::awaitable<void> {
          Probe& probe = *probes[i];
          SteadyTime start = SteadyClock::now();
          ProbeResult result = co_await runWithDeadline(probe, {});
          report.entries[i].result = std::move(result);
          report.entries[i].elapsed =
              std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
        },
        asio::detached);
  }
  run.io.run();
  return report;
}

namespace {

std::string paint(const std::string& text, State state, bool color) {
  if (!color) return text;
  const char* code = state == State::Ok         ? "\033[32m"
                     : state == State::Degraded ? "\033[33m"
                                                : "\033[31m";
  return code + text + "\033[0m";
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

}  // namespace

std::string formatCheckText(const CheckReport& report, bool color) {
  // Text from outside (a server's message, a command's output) reaches a terminal here:
  // every field is shown with its control characters escaped, so an answer holding
  // ESC, BEL, CR or LF cannot move the cursor, retitle the window or forge a row.
  std::size_t nameWidth = 5, causeWidth = 5;
  for (const auto& e : report.entries) {
    nameWidth = std::max(nameWidth, escapeControls(e.probe).size());
    causeWidth = std::max(causeWidth, escapeControls(e.result.cause).size());
  }
  std::string out = "guestpulse check: provider " +
                    std::string(toString(report.provider.provider)) + " (" +
                    escapeControls(report.provider.reason) + "), metadata endpoint " +
                    escapeControls(report.endpoint) + "\n\n";
  out +=
      pad("PROBE", nameWidth + 2) + pad("STATE", 10) + pad("CAUSE", causeWidth + 2) + "MESSAGE\n";
  for (const auto& e : report.entries) {
    const ProbeResult& r = e.result;
    out += pad(escapeControls(e.probe), nameWidth + 2) +
           paint(pad(std::string(toString(r.state)), 10), r.state, color) +
           pad(r.cause.empty() ? "-" : escapeControls(r.cause), causeWidth + 2) +
           escapeControls(r.message) + "\n";
    if (!r.fix.empty())
      out += std::string(nameWidth + 2, ' ') + "fix: " + escapeControls(r.fix) + "\n";
  }
  State overall = report.overall();
  out += "\nstatus: " + paint(std::string(toString(overall)), overall, color) + "\n";
  return out;
}

std::string formatCheckJson(const CheckReport& report) {
  boost::json::array probes;
  for (const auto& e : report.entries) {
    boost::json::object p;
    p["name"] = e.probe;
    p["state"] = std::string(toString(e.result.state));
    p["cause"] = e.result.cause;
    p["message"] = e.result.message;
    p["fix"] = e.result.fix;
    p["elapsed_ms"] = e.elapsed.count();
    boost::json::object details;
    for (const auto& [k, v] : e.result.details) details[k] = v;
    p["details"] = std::move(details);
    probes.push_back(std::move(p));
  }
  boost::json::object root;
  root["status"] = std::string(toString(report.overall()));
  root["provider"] = std::string(toString(report.provider.provider));
  root["provider_reason"] = report.provider.reason;
  root["endpoint"] = report.endpoint;
  root["probes"] = std::move(probes);
  return boost::json::serialize(root) + "\n";
}

}  // namespace guestpulse
