#pragma once
// A fake Envoy admin interface for the service-proxy tests: GET /ready, /server_info and
// /config_dump, with answers switched at run time through this C++ API or the control
// API under /_fake/ on the same listener. Independent of the agent core.
//
// Control API (JSON):
//   GET /_fake/answers   the current answers
//   PUT /_fake/answers   {"ready_status": 503, "ready_body": "PRE_INITIALIZING\n",
//                         "version": "1.8.0", "state": "LIVE", "config_dump": "configured"
//                         | "no_listeners" | "warming" | "huge" | "endless" | "drip" |
//                         "deep" | "garbage", "huge_mib": 64, "hang": false}
//                        (members left out keep their value)
//   GET /_fake/stats     {"requests": N, "config_dump_bytes_sent": M}
// The config_dump modes: a v3 dump with one active dynamic listener (configured), none
// (no_listeners), one warming whose update was rejected (warming), `huge_mib` MiB of
// clusters before an active listener (huge), clusters without end (endless), the
// configured dump one byte every 50 ms (drip), a million '[' (deep), an HTML page
// (garbage). Endless and drip stop when the client closes (or after 1 GiB / 10 min).
//
// Threads: one io_context thread; every public member is thread-safe.
// Network: binds only to the address given (default 127.0.0.1, port 0).

#include <cstdint>
#include <memory>
#include <string>

namespace guestpulse::fake {

enum class ConfigDumpMode { Configured, NoListeners, Warming, Huge, Endless, Drip, Deep, Garbage };

struct EnvoyAnswers {
  int readyStatus = 200;
  std::string readyBody = "LIVE\n";
  std::string version = "1.27.0";  // the version field of /server_info
  std::string state = "LIVE";
  ConfigDumpMode configDump = ConfigDumpMode::Configured;
  std::size_t hugeMib = 64;
  bool hang = false;  // read requests, answer none (until the client closes)
};

struct FakeEnvoyOptions {
  std::string bindAddress = "127.0.0.1";
  std::uint16_t port = 0;
  EnvoyAnswers answers;
};

class FakeEnvoy {
 public:
  explicit FakeEnvoy(FakeEnvoyOptions options = {});
  ~FakeEnvoy();  // stop()
  FakeEnvoy(const FakeEnvoy&) = delete;
  FakeEnvoy& operator=(const FakeEnvoy&) = delete;

  void start();  // binds, starts the thread; throws std::runtime_error on a bind failure
  void stop();   // closes the listener and every connection, joins; idempotent
  std::uint16_t port() const;
  std::string endpoint() const;  // "127.0.0.1:PORT"

  EnvoyAnswers answers() const;
  void setAnswers(EnvoyAnswers answers);
  std::uint64_t requests() const;             // admin requests answered or hung
  std::uint64_t configDumpBytesSent() const;  // body bytes of /config_dump written

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The mode's name in the control API ("no_listeners"), and back.
const char* toString(ConfigDumpMode mode);
bool parseConfigDumpMode(const std::string& text, ConfigDumpMode& out);

}  // namespace guestpulse::fake
