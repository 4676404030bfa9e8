#pragma once
// Helpers for integration tests: an in-process agent on its own io_context thread, a
// config for fast tests, the real binary's `check`, and polling waits.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "agent/app/agent.hpp"
#include "config/config.hpp"
#include "tests/fake_mds/fake_mds.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace guestpulse::testing {

// Under ASan or TSan the resident size holds shadow memory and the allocator's quarantine
// of freed blocks (up to 256 MiB), so it says nothing about what the agent keeps: RSS
// bounds are checked in the plain builds only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kRssMeaningful = false;
#else
inline constexpr bool kRssMeaningful = true;
#endif

std::string readFile(const std::filesystem::path& path);
void writeFile(const std::filesystem::path& path, const std::string& content);

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A GCE fake's options with guest attributes enabled (enable-guest-attributes=TRUE): a
// fresh fake, like a new VM, answers 403 to guest-attribute calls.
fake::Options withGuestAttributes(fake::Options options = {});

// A config for fast tests against `mds`: 1 s interval, short timeouts and backoff, serial
// to a file in `dir`, state in `dir`; the metadata probe only (workload_certs, mds_mtls
// and service_proxy off).
Config fastConfig(const fake::FakeMds& mds, const TempDir& dir);

// The agent running on its own thread. Only observe it through the fake server and
// the files it writes while it runs; counters are safe to read after stop().
class RunningAgent {
 public:
  RunningAgent(Config config, AgentOptions options = {});
  ~RunningAgent();
  void stop();  // graceful; joins
  Agent& agent() { return *agent_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<Agent> agent_;
  std::thread thread_;
  bool stopped_ = false;
};

// One probe's row of `guestpulse check -c DIR/g.yaml --json`, run as the real binary
// with GCE_METADATA_HOST=mdsEndpoint (`yaml` is written to DIR/g.yaml first; the output
// goes to DIR/check.out and check.err).
struct CheckedProbe {
  int exitCode = -1;  // -1: still running after 60 s (then killed)
  std::string state, cause, message;
};
CheckedProbe checkProbe(const std::filesystem::path& dir, const std::string& yaml,
                        const std::string& mdsEndpoint, const std::string& probeName);

// Runs the agent in process on `config`, from no serial log (DIR/serial.log) and no state
// (DIR/state), until the serial log shows `line` or 10 s pass; returns the log.
std::string serialUntil(const Config& config, const std::filesystem::path& dir,
                        const std::string& line);

// The guestpulse binary run to its end (at most 60 s) in `dir`, with its output.
struct Ran {
  int exitCode;
  std::string out;
  std::string err;
};
Ran runBinary(const TempDir& dir, std::vector<std::string> args, std::vector<std::string> env = {});

}  // namespace guestpulse::testing
