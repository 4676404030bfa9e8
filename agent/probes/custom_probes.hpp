#pragma once
// The operator's own checks (`probes.custom` in the config): an HTTP GET, a TCP connect
// or a command. They are reported like the built-in probes (guest attribute
// probe-<name>, serial lines on transitions) with the causes custom.http_status,
// custom.http_unreachable, custom.tcp_refused, custom.tcp_timeout, custom.tcp_unreachable,
// custom.exec_failed, custom.exec_timeout and custom.exec_error.
//
// Contract shared by the three kinds:
//  - one attempt per run, never a retry: the interval is the retry;
//  - the configured timeout bounds the whole attempt; deadline() adds a small margin for
//    the scheduler's own guard (exec: also the SIGTERM grace and the reaping);
//  - never throws; a message is one line of at most kMaxCustomMessage characters that
//    names the step and the target.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/probes/probe.hpp"
#include "config/config.hpp"

namespace guestpulse {

class BlockingPool;
class HttpClient;

inline constexpr std::size_t kMaxCustomMessage = 300;

struct CustomProbeDeps {
  HttpClient& http;
  BlockingPool& resolver;  // name resolution for tcp probes (the agent's shared pool)
  // Runs commands. Separate from `resolver` so that hung commands (up to their timeout)
  // can never starve the metadata probe's name resolution. Required for exec probes.
  std::shared_ptr<BlockingPool> execPool;
  Duration killGrace = std::chrono::seconds(1);  // exec: SIGTERM to SIGKILL
};

// Builds the probe a CustomProbeConfig describes (the config is already validated).
std::unique_ptr<Probe> makeCustomProbe(const CustomProbeConfig& config,
                                       const CustomProbeDeps& deps);

// Builds every custom probe, in config order. Exec probes share one pool of their own
// (one thread per exec probe, at most 4), owned by the probes.
std::vector<std::unique_ptr<Probe>> makeCustomProbes(const std::vector<CustomProbeConfig>& configs,
                                                     HttpClient& http, BlockingPool& resolver);

class HttpCustomProbe : public Probe {
 public:
  HttpCustomProbe(const CustomProbeConfig& config, HttpClient& http);
  const std::string& name() const override { return config_.name; }
  Duration interval() const override { return config_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  CustomProbeConfig config_;
  HttpClient& http_;
};

class TcpCustomProbe : public Probe {
 public:
  TcpCustomProbe(const CustomProbeConfig& config, BlockingPool& resolver);
  const std::string& name() const override { return config_.name; }
  Duration interval() const override { return config_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  CustomProbeConfig config_;
  BlockingPool& resolver_;
};

class ExecCustomProbe : public Probe {
 public:
  ExecCustomProbe(const CustomProbeConfig& config, std::shared_ptr<BlockingPool> pool,
                  Duration killGrace = std::chrono::seconds(1));
  const std::string& name() const override { return config_.name; }
  Duration interval() const override { return config_.interval; }
  Duration deadline() const override;
  boost::asio::awaitable<ProbeResult> run(ProbeRunContext context) override;

 private:
  CustomProbeConfig config_;
  std::shared_ptr<BlockingPool> pool_;
  Duration killGrace_;
};

namespace custom_detail {

// `text` made one line of at most `limit` bytes: control characters become spaces, and
// a longer text is cut on a UTF-8 boundary and ends in "...".
std::string clipLine(std::string_view text, std::size_t limit = kMaxCustomMessage);
// The first line of `output` that is not blank, trimmed; "" when there is none.
std::string firstLine(std::string_view output);
// argv as a shell would need it typed, for fix hints: /bin/check 'a b' --x
std::string shellQuote(const std::vector<std::string>& argv);

}  // namespace custom_detail

}  // namespace guestpulse
