#include "tests/integration/harness.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

namespace guestpulse::testing {

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void writeFile(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

fake::Options withGuestAttributes(fake::Options options) {
  for (const auto& [path, value] : fake::guestAttributesEnabled()) options.values[path] = value;
  return options;
}

Config fastConfig(const fake::FakeMds& mds, const TempDir& dir) {
  using namespace std::chrono_literals;
  Config config;
  config.metadata.endpoint = "http://" + mds.endpoint();
  config.metadata.timeout = 500ms;
  config.retry = {100ms, 2s, 2.0, 3};
  config.probes.metadata.interval = 1s;
  // Only the metadata probe: the certificate probes' attribute writes would share GCE's
  // 10-a-minute budget with what these tests count. Their own tests turn them on.
  config.probes.workloadCerts.enabled = Enablement::False;
  config.probes.mdsMtls.enabled = Enablement::False;
  config.probes.serviceProxy.enabled = Enablement::False;
  config.report.serial.device = (dir / "serial.log").string();
  config.report.stateDir = (dir / "state").string();
  config.report.guestAttributes.heartbeat = 10s;
  return config;
}

RunningAgent::RunningAgent(Config config, AgentOptions options) {
  // Tests want their first results at once; the fleet spread has tests of its own.
  if (!options.startupSpread) options.startupSpread = std::chrono::milliseconds(500);
  agent_ = std::make_unique<Agent>(io_, std::move(config), std::move(options));
  agent_->start();
  thread_ = std::thread([this] { io_.run(); });
}

RunningAgent::~RunningAgent() { stop(); }

void RunningAgent::stop() {
  if (stopped_) return;
  stopped_ = true;
  agent_->requestStop();
  thread_.join();
}

CheckedProbe checkProbe(const std::filesystem::path& dir, const std::string& yaml,
                        const std::string& mdsEndpoint, const std::string& probeName) {
  writeFile(dir / "g.yaml", yaml);
  auto child = ChildProcess::spawn(
      {GUESTPULSE_BINARY, "check", "-c", (dir / "g.yaml").string(), "--json"},
      {"GCE_METADATA_HOST=" + mdsEndpoint}, dir / "check.out", dir / "check.err");
  CheckedProbe checked;
  checked.exitCode = child.wait(std::chrono::seconds(60));
  if (checked.exitCode == -1) child.killHard();
  std::string out = readFile(dir / "check.out");
  INFO(out << readFile(dir / "check.err"));
  auto text = [](const boost::json::object& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
  };
  auto json = boost::json::parse(out).as_object();
  for (auto& p : json["probes"].as_array()) {
    const auto& row = p.as_object();
    if (text(row, "name") != probeName) continue;
    checked.state = text(row, "state");
    checked.cause = text(row, "cause");
    checked.message = text(row, "message");
  }
  return checked;
}

std::string serialUntil(const Config& config, const std::filesystem::path& dir,
                        const std::string& line) {
  std::filesystem::remove(dir / "serial.log");
  std::filesystem::remove_all(dir / "state");
  RunningAgent running(config);
  eventually([&] { return readFile(dir / "serial.log").find(line) != std::string::npos; },
             std::chrono::seconds(10));
  running.stop();
  return readFile(dir / "serial.log");
}

Ran runBinary(const TempDir& dir, std::vector<std::string> args, std::vector<std::string> env) {
  args.insert(args.begin(), GUESTPULSE_BINARY);
  auto child = ChildProcess::spawn(args, env, dir / "out.txt", dir / "err.txt");
  int code = child.wait(std::chrono::seconds(60));
  if (code == -1) child.killHard();
  return {code, readFile(dir / "out.txt"), readFile(dir / "err.txt")};
}

}  // namespace guestpulse::testing
