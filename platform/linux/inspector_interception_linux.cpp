// The nat interception evidence of the service-proxy diagnosis: the proxy's uid from the
// socket tables, the nat listings (rule_listing.hpp) read by the interception scanners of
// firewall_scan.hpp.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "platform/inspector.hpp"
#include "platform/linux/firewall_scan.hpp"
#include "platform/linux/rule_listing.hpp"
#include "platform/linux/socket_table.hpp"

namespace guestpulse::platform {

namespace {

constexpr std::size_t kMaxSocketTableBytes = 8 << 20;

// A /proc socket table (a regular file that reports size 0, so read to the end).
std::string readSocketTable(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    error = "open " + path + ": " + std::system_category().message(errno);
    return {};
  }
  std::string text;
  char buffer[16384];
  while (text.size() < kMaxSocketTableBytes) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// The owner of the socket listening on the admin port, else on the proxy port.
void findProxyUid(const InterceptionQuery& query, const InspectorOptions& options,
                  InterceptionFacts& facts) {
  std::vector<ListeningSocket> sockets;
  std::string errors;
  for (const auto& [file, ipv6] : {std::pair{"tcp", false}, std::pair{"tcp6", true}}) {
    std::string error;
    std::string text = readSocketTable(options.socketTableDirectory + "/" + file, error);
    if (!error.empty()) errors += (errors.empty() ? "" : "; ") + error;
    auto found = parseListeningSockets(text, ipv6);
    sockets.insert(sockets.end(), found.begin(), found.end());
  }
  for (std::uint16_t port : {query.adminPort, query.proxyPort}) {
    for (const auto& socket : sockets) {
      if (socket.port != port) continue;
      facts.proxyUid = socket.uid;
      facts.proxyUidSource =
          "the owner of the socket listening on " +
          (socket.address.find(':') != std::string::npos ? "[" + socket.address + "]"
                                                         : socket.address) +
          ":" + std::to_string(port);
      return;
    }
  }
  facts.proxyUidSource = "nothing listens on port " + std::to_string(query.adminPort) + " or " +
                         std::to_string(query.proxyPort) +
                         (errors.empty() ? std::string() : " (" + errors + ")");
}

}  // namespace

InterceptionFacts linuxInterception(const InterceptionQuery& query,
                                    const InspectorOptions& options) {
  InterceptionFacts facts;
  facts.ownUid = static_cast<std::uint32_t>(::geteuid());
  findProxyUid(query, options, facts);

  InterceptionScanOptions scanOptions;
  scanOptions.query = query;
  scanOptions.proxyUid = facts.proxyUid;
  scanOptions.ownUid = facts.ownUid;
  scanOptions.ownGid = static_cast<std::uint32_t>(::getegid());
  auto keep = [&](InterceptionScan& scan) {
    auto move = [](auto& from, auto& to) {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    };
    move(scan.natChains, facts.natChains);
    move(scan.outbound, facts.outbound);
    move(scan.inbound, facts.inbound);
  };
  ListingReaders readers;
  readers.iptables = [&](const std::string&, const std::string& command, const std::string& text) {
    scanOptions.command = command;
    scanOptions.skipTables.clear();
    InterceptionScan scan = scanIptablesInterception(text, scanOptions);
    if (scan.listing.parsed) keep(scan);
    return scan.listing;
  };
  readers.nft = [&](const std::string& text, const std::vector<std::string>& skipTables) {
    scanOptions.command = "nft";
    scanOptions.skipTables = skipTables;
    InterceptionScan scan = scanNftInterception(text, scanOptions);
    if (scan.listing.parsed) keep(scan);
    return scan.listing;
  };
  // Only the nat table: it is the one that redirects, and the listing stays short.
  ListingOutcome outcome = readFirewallListings(options, {"-t", "nat"}, readers);
  facts.readable = outcome.readable;
  facts.error = std::move(outcome.error);
  facts.sources = std::move(outcome.sources);
  facts.problems = std::move(outcome.problems);
  return facts;
}

}  // namespace guestpulse::platform
