// The route to an IPv4 address, asked of the kernel over rtnetlink exactly as
// `ip route get ADDR` does (RTM_GETROUTE with RTA_DST). Local only: no packet leaves.

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include "platform/inspector.hpp"

namespace guestpulse::platform {

namespace {

std::string errnoText(int error) { return std::system_category().message(error); }

std::string ipv4Text(const void* data) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, data, text, sizeof text);
  return text;
}

std::string tableName(std::uint32_t table) {
  switch (table) {
    case RT_TABLE_MAIN:
      return "main";
    case RT_TABLE_LOCAL:
      return "local";
    case RT_TABLE_DEFAULT:
      return "default";
    default:
      return std::to_string(table);
  }
}

// The kernel answers a lookup that hits a blackhole/unreachable/prohibit route with an
// error instead of the route (ip route get prints "RTNETLINK answers: Invalid argument"
// for a blackhole), so the errno is the only way to tell those routes apart.
void applyError(int error, RouteFacts& facts) {
  facts.error = errnoText(error);
  switch (error) {
    case ENETUNREACH:
      facts.status = RouteStatus::NoRoute;
      break;
    case EHOSTUNREACH:
      facts.status = RouteStatus::Unreachable;
      facts.error += " (an unreachable route)";
      break;
    case EACCES:
    case EPERM:
      facts.status = RouteStatus::Prohibited;
      facts.error += " (a prohibit route)";
      break;
    case EINVAL:  // the request itself is well-formed: we built it from a parsed address
      facts.status = RouteStatus::Blackhole;
      facts.error += " (a blackhole route)";
      break;
    default:
      facts.status = RouteStatus::LookupFailed;
      facts.error = "route lookup: " + facts.error;
  }
}

void applyRoute(const nlmsghdr* header, RouteFacts& facts) {
  const auto* route = static_cast<const rtmsg*>(NLMSG_DATA(header));
  std::uint32_t table = route->rtm_table;
  int length = static_cast<int>(RTM_PAYLOAD(header));
  for (const rtattr* attr = RTM_RTA(route); RTA_OK(attr, length); attr = RTA_NEXT(attr, length)) {
    const void* data = RTA_DATA(attr);
    const auto size = static_cast<std::size_t>(RTA_PAYLOAD(attr));
    if (attr->rta_type == RTA_OIF && size >= sizeof(int)) {
      int index = 0;
      std::memcpy(&index, data, sizeof index);
      char name[IF_NAMESIZE] = {};
      facts.interface = ::if_indextoname(static_cast<unsigned>(index), name)
                            ? std::string(name)
                            : "ifindex " + std::to_string(index);
    } else if (attr->rta_type == RTA_GATEWAY && size >= 4) {
      facts.gateway = ipv4Text(data);
    } else if (attr->rta_type == RTA_PREFSRC && size >= 4) {
      facts.source = ipv4Text(data);
    } else if (attr->rta_type == RTA_TABLE && size >= sizeof(std::uint32_t)) {
      std::memcpy(&table, data, sizeof table);
    }
  }
  facts.table = tableName(table);
  switch (route->rtm_type) {
    case RTN_BLACKHOLE:
      facts.status = RouteStatus::Blackhole;
      facts.error = "a blackhole route";
      break;
    case RTN_UNREACHABLE:
      facts.status = RouteStatus::Unreachable;
      facts.error = "an unreachable route";
      break;
    case RTN_PROHIBIT:
      facts.status = RouteStatus::Prohibited;
      facts.error = "a prohibit route";
      break;
    case RTN_THROW:
      facts.status = RouteStatus::NoRoute;
      facts.error = "a throw route and no route after it";
      break;
    default:
      facts.status = RouteStatus::Found;
      facts.local = route->rtm_type == RTN_LOCAL;
      facts.directlyConnected = !facts.local && facts.gateway.empty();
  }
}

struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

RouteFacts linuxRouteTo(const std::string& ipv4, std::chrono::milliseconds timeout) {
  RouteFacts facts;
  facts.destination = ipv4;
  in_addr destination{};
  if (::inet_pton(AF_INET, ipv4.c_str(), &destination) != 1) {
    facts.error = "'" + ipv4 + "' is not an IPv4 address";
    return facts;
  }
  Socket sock;
  sock.fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock.fd < 0) {
    facts.error = "netlink socket: " + errnoText(errno);
    return facts;
  }
  // SO_RCVTIMEO bounds each recv; the overall deadline below bounds the loop.
  auto millis = std::max<long long>(timeout.count(), 1);
  timeval tv{static_cast<time_t>(millis / 1000), static_cast<suseconds_t>((millis % 1000) * 1000)};
  ::setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  struct {
    nlmsghdr header;
    rtmsg route;
    char attributes[64];
  } request{};
  const std::uint32_t sequence = 1;
  request.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  request.header.nlmsg_type = RTM_GETROUTE;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.header.nlmsg_seq = sequence;
  request.route.rtm_family = AF_INET;
  request.route.rtm_dst_len = 32;
  request.route.rtm_flags = RTM_F_LOOKUP_TABLE;  // report the table that matched, not "main"
  auto* attr = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&request) +
                                         NLMSG_ALIGN(request.header.nlmsg_len));
  attr->rta_type = RTA_DST;
  attr->rta_len = RTA_LENGTH(sizeof destination);
  std::memcpy(RTA_DATA(attr), &destination, sizeof destination);
  request.header.nlmsg_len = NLMSG_ALIGN(request.header.nlmsg_len) + RTA_ALIGN(attr->rta_len);

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.fd, &request, request.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    facts.error = "netlink send: " + errnoText(errno);
    return facts;
  }

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  alignas(nlmsghdr) char buffer[16384];
  while (std::chrono::steady_clock::now() < deadline) {
    sockaddr_nl from{};
    socklen_t fromLength = sizeof from;
    ssize_t n = ::recvfrom(sock.fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                           &fromLength);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) {
      facts.error = "netlink receive: " + errnoText(errno);
      return facts;
    }
    if (from.nl_pid != 0) continue;  // only the kernel's answer counts
    int length = static_cast<int>(n);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, length);
         header = NLMSG_NEXT(header, length)) {
      if (header->nlmsg_seq != sequence) continue;
      if (header->nlmsg_type == NLMSG_ERROR) {
        const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
        if (error->error == 0) continue;  // an acknowledgement
        applyError(-error->error, facts);
        return facts;
      }
      if (header->nlmsg_type == RTM_NEWROUTE) {
        applyRoute(header, facts);
        return facts;
      }
    }
  }
  facts.error =
      "route lookup: no answer from the kernel within " + std::to_string(timeout.count()) + "ms";
  return facts;
}

}  // namespace guestpulse::platform
