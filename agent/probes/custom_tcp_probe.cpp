// The tcp custom probe: OK when a TCP connection to host:port is accepted in time.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <charconv>
#include <cstdint>

#include "agent/net/blocking_pool.hpp"
#include "agent/probes/custom_probes.hpp"

namespace guestpulse {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr Duration kDeadlineMargin = std::chrono::seconds(1);

struct HostPort {
  std::string host;  // without brackets
  std::string port;
  std::uint16_t portNumber = 0;
};

// "host:port" or "[v6]:port", as the config validator accepts them.
std::optional<HostPort> splitAddress(const std::string& address) {
  HostPort out;
  if (!address.empty() && address.front() == '[') {
    std::size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      return std::nullopt;
    out.host = address.substr(1, close - 1);
    out.port = address.substr(close + 2);
  } else {
    std::size_t colon = address.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    out.host = address.substr(0, colon);
    out.port = address.substr(colon + 1);
  }
  const char* end = out.port.data() + out.port.size();
  auto [ptr, ec] = std::from_chars(out.port.data(), end, out.portNumber);
  if (ec != std::errc() || ptr != end || out.portNumber == 0 || out.host.empty())
    return std::nullopt;
  return out;
}

struct Resolved {
  boost::system::error_code error;
  std::vector<tcp::endpoint> endpoints;
};

Resolved resolveBlocking(const std::string& host, const std::string& port) {
  asio::io_context local;  // the synchronous resolver only needs an executor
  tcp::resolver resolver(local);
  Resolved out;
  auto results = resolver.resolve(host, port, out.error);
  if (!out.error)
    for (const auto& entry : results) out.endpoints.push_back(entry.endpoint());
  if (!out.error && out.endpoints.empty()) out.error = asio::error::host_not_found;
  return out;
}

std::string toString(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string text = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return text + ":" + std::to_string(endpoint.port());
}

bool isTimeout(const boost::system::error_code& ec) {
  return ec == boost::beast::error::timeout || ec == asio::error::timed_out;
}

}  // namespace

TcpCustomProbe::TcpCustomProbe(const CustomProbeConfig& config, BlockingPool& resolver)
    : config_(config), resolver_(resolver) {}

Duration TcpCustomProbe::deadline() const { return config_.timeout + kDeadlineMargin; }

asio::awaitable<ProbeResult> TcpCustomProbe::run(ProbeRunContext) {
  using custom_detail::clipLine;
  const std::string& target = config_.address;
  const SteadyTime start = SteadyClock::now();
  auto elapsed = [&] { return std::chrono::duration_cast<Duration>(SteadyClock::now() - start); };
  auto remaining = [&] { return std::max(config_.timeout - elapsed(), Duration(1)); };

  std::optional<HostPort> hostPort = splitAddress(target);
  if (!hostPort) {
    co_return ProbeResult::failed("custom.tcp_unreachable",
                                  clipLine("connect to " + target + ": not host:port"),
                                  "fix probes.custom address of '" + config_.name + "'");
  }

  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code literalError;
  auto literal = asio::ip::make_address(hostPort->host, literalError);
  if (!literalError) {
    endpoints.emplace_back(literal, hostPort->portNumber);
  } else {
    // Named, not a temporary inside the co_await: GCC 12 destroys a lambda temporary with
    // captures twice when it is an operand of co_await.
    std::function<Resolved()> resolve = [host = hostPort->host, port = hostPort->port] {
      return resolveBlocking(host, port);
    };
    const Duration budget = remaining();
    auto resolved = co_await resolver_.run<Resolved>(std::move(resolve), budget);
    const std::string fix = "check that " + hostPort->host + " resolves on this VM (getent hosts " +
                            hostPort->host + ") and the resolver in /etc/resolv.conf";
    if (!resolved) {
      co_return ProbeResult::failed("custom.tcp_unreachable",
                                    clipLine("resolve " + hostPort->host + ": timeout after " +
                                             formatDuration(config_.timeout)),
                                    clipLine(fix));
    }
    if (resolved->error) {
      co_return ProbeResult::failed(
          "custom.tcp_unreachable",
          clipLine("resolve " + hostPort->host + ": " + resolved->error.message()), clipLine(fix));
    }
    endpoints = std::move(resolved->endpoints);
  }

  boost::beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(remaining());
  auto [ec, connected] =
      co_await stream.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
  // Name the address tried last (the one whose error we report), and the name if any.
  const std::string peer = toString(ec ? endpoints.back() : connected);
  const std::string where = literalError ? target + " (" + peer + ")" : peer;
  if (!ec) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
    ProbeResult ok =
        ProbeResult::ok(clipLine("connected to " + where + " in " + formatLatency(elapsed())));
    ok.details.emplace_back("address", target);
    ok.details.emplace_back("latency_ms", std::to_string(elapsed().count()));
    co_return ok;
  }

  ProbeResult failed;
  if (isTimeout(ec)) {
    failed = ProbeResult::failed(
        "custom.tcp_timeout",
        "connect to " + where + ": timeout after " + formatDuration(config_.timeout),
        "check that the host is up and that no firewall drops traffic to " + peer +
            " (ip route get " + endpoints.back().address().to_string() +
            ", iptables -S / nft list ruleset)");
  } else if (ec == asio::error::connection_refused) {
    failed = ProbeResult::failed("custom.tcp_refused", "connect to " + where + ": " + ec.message(),
                                 "nothing listens on " + peer +
                                     ", or a firewall rejects it: start the service or check " +
                                     "its listen address (ss -ltn) and REJECT rules");
  } else {
    // No route, network down, a local firewall's EPERM/EACCES, and the like.
    failed = ProbeResult::failed(
        "custom.tcp_unreachable", "connect to " + where + ": " + ec.message(),
        "check the route to " + peer + " (ip route get " + endpoints.back().address().to_string() +
            ") and the local firewall");
  }
  failed.message = clipLine(failed.message);
  failed.fix = clipLine(failed.fix);
  failed.details.emplace_back("address", target);
  co_return failed;
}

}  // namespace guestpulse
