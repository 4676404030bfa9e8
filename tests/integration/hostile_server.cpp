#include "tests/integration/hostile_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace guestpulse::testing {

namespace {

bool sendAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string healthy(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nMetadata-Flavor: Google\r\nContent-Type: text/plain\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

HostileServer::HostileServer() {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listenFd_ < 0 || ::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listenFd_, 64) != 0 ||
      ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("hostile server: cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

HostileServer::~HostileServer() {
  stopping_ = true;
  ::shutdown(listenFd_, SHUT_RDWR);
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : threads_) t.join();
  ::close(listenFd_);
}

void HostileServer::set(Hostility mode, std::string prefix) {
  std::lock_guard lock(mutex_);
  mode_ = mode;
  prefix_ = std::move(prefix);
}

std::size_t HostileServer::count(const std::string& methodAndTarget) const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count(seen_.begin(), seen_.end(), methodAndTarget));
}

std::string HostileServer::endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

void HostileServer::acceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mutex_);
    open_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void HostileServer::serve(int fd) {
  // The request: its header, and a body by Content-Length (guest-attribute PUTs).
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<std::size_t>(n));
  }
  ++requests_;
  std::string method, target;
  if (auto sp = request.find(' '); sp != std::string::npos) {
    method = request.substr(0, sp);
    target = request.substr(sp + 1, request.find(' ', sp + 1) - sp - 1);
  }
  Hostility mode;
  {
    std::lock_guard lock(mutex_);
    mode = target.rfind(prefix_, 0) == 0 ? mode_ : Hostility::None;
    if (seen_.size() < 100000) seen_.push_back(method + " " + target);
  }
  if (mode != Hostility::None) ++hostile_;
  const std::string flavor = "HTTP/1.1 200 OK\r\nMetadata-Flavor: Google\r\n";
  switch (mode) {
    case Hostility::None:
      sendAll(fd, healthy("1234567890"));
      break;
    case Hostility::TrickleHeader: {
      std::string header = flavor + "X-Slow: " + std::string(100000, 'a');
      for (char c : header) {
        if (stopping_ || !sendAll(fd, std::string(1, c))) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) break;  // the client closed (or sent more)
      }
      break;
    }
    case Hostility::HugeHeader:
      sendAll(fd, flavor + "X-Big: " + std::string(100 * 1024, 'b') +
                      "\r\nContent-Length: 2\r\n\r\nok");
      break;
    case Hostility::ManyHeaders: {
      std::string h = flavor;
      for (int i = 0; i < 10000; ++i) h += "X-H" + std::to_string(i) + ": v\r\n";
      sendAll(fd, h + "Content-Length: 2\r\n\r\nok");
      break;
    }
    case Hostility::HugeBody: {
      if (!sendAll(fd, flavor + "Content-Length: 209715200\r\n\r\n")) break;
      std::string chunk(64 * 1024, 'z');
      for (int i = 0; i < 3200 && !stopping_; ++i)
        if (!sendAll(fd, chunk)) break;
      break;
    }
    case Hostility::BadChunking:
      sendAll(fd, flavor + "Transfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n");
      break;
    case Hostility::LengthMismatch:
      sendAll(fd, flavor + "Content-Length: 5000\r\n\r\n0123456789");
      break;
    case Hostility::MidBodyClose:
      sendAll(fd, flavor + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
      break;
    case Hostility::Redirect:
      sendAll(fd,
              "HTTP/1.1 301 Moved Permanently\r\nMetadata-Flavor: Google\r\nLocation: "
              "http://198.51.100.7/computeMetadata/v1/instance/id\r\nContent-Length: 0\r\n\r\n");
      break;
    case Hostility::ServerError:
      sendAll(fd,
              "HTTP/1.1 500 Internal Server Error\r\nMetadata-Flavor: Google\r\n"
              "Content-Length: 0\r\nConnection: close\r\n\r\n");
      break;
    case Hostility::BigMessage: {
      std::string body = "\x1b]0;owned\x07\x1b[2J" + std::string(50000, 'm');
      sendAll(fd,
              "HTTP/1.1 412 Precondition Failed\r\nMetadata-Flavor: Google\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body);
      break;
    }
  }
  ::shutdown(fd, SHUT_WR);
  // Let the client read to the end before the descriptor goes.
  pollfd p{fd, POLLIN, 0};
  ::poll(&p, 1, 500);
  std::lock_guard lock(mutex_);
  open_.erase(std::remove(open_.begin(), open_.end(), fd), open_.end());
  ::close(fd);
}

}  // namespace guestpulse::testing
