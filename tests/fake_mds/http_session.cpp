#include "tests/fake_mds/http_session.hpp"

#include <boost/asio/ip/unicast.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <utility>

namespace guestpulse::fake {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr std::chrono::seconds kWriteTimeout{30};
// After a "Connection: close" answer the peer may still be sending (a body after a bad
// header block); closing with unread data would turn our FIN into an RST and could
// destroy the 400 before the client reads it, so drain briefly first.
constexpr std::chrono::seconds kLingerDrain{1};

bool isParseError(const error_code& ec) {
  static const auto& httpCategory = make_error_code(http::error::bad_field).category();
  return ec.category() == httpCategory && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

Reply statusFaultReply(ProviderApi& api, const FaultRule& fault, const Request& request) {
  int status = *fault.status;
  if (fault.body.empty() && status >= 400) return api.faultReply(status, request);
  Reply r = api.faultReply(status, request);  // the provider's headers, the rule's body
  r.status = status;
  r.body = fault.body.empty() ? std::string(reasonPhrase(status)) + "\n" : fault.body;
  r.contentType = "application/text";
  if (r.metadataHeaders) r.etag = etagOf(r.body);
  return r;
}

}  // namespace

template <class Stream>
asio::awaitable<void> HttpSession<Stream>::run() {
  for (;;) {
    if (aborted_ || server_.stopping()) co_return;
    bool keepAlive = false;
    std::optional<Request> request = co_await readRequest(keepAlive);
    if (!request) break;
    if (!co_await serve(*request, keepAlive)) break;
  }
  co_await closeGracefully();
}

template <class Stream>
asio::awaitable<std::optional<Request>> HttpSession<Stream>::readRequest(bool& keepAlive) {
  Parser parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1024 * 1024);
  error_code ec;
  lowest().expires_after(server_.options().idleTimeout);
  co_await http::async_read_header(stream_, buffer_, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
    // curl waits a second for this before sending a PUT body over 1 KiB; GFE answers it.
    http::response<http::empty_body> cont{http::status::continue_, 11};
    lowest().expires_after(kWriteTimeout);
    co_await http::async_write(stream_, cont, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!ec && !parser.is_done()) {
    lowest().expires_after(server_.options().idleTimeout);
    co_await http::async_read(stream_, buffer_, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    if (isParseError(ec) && !aborted_) co_await answerMalformed(parser);
    co_return std::nullopt;
  }

  const auto& msg = parser.get();
  Request r;
  r.method = std::string(msg.method_string());
  r.rawTarget = std::string(msg.target());
  r.target = parseTarget(r.rawTarget);
  r.body = msg.body();
  r.host = std::string(msg[http::field::host]);
  auto flavor = msg.find("Metadata-Flavor");
  r.flavor = flavor != msg.end() && flavor->value() == "Google";
  r.forwarded = msg.find("X-Forwarded-For") != msg.end();
  for (const auto& field : msg) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace(std::move(name), std::string(field.value()));
  }
  keepAlive = msg.keep_alive();
  co_return r;
}

template <class Stream>
asio::awaitable<void> HttpSession<Stream>::answerMalformed(const Parser& parser) {
  // Whatever of the request line Beast had accepted before the error is worth logging.
  const auto& msg = parser.get();
  RequestRecord record;
  record.method = std::string(msg.method_string());
  record.target = std::string(msg.target());
  auto flavor = msg.find("Metadata-Flavor");
  record.flavor = flavor != msg.end() && flavor->value() == "Google";
  record.fault = "malformed";
  std::uint64_t seq = server_.log.begin(std::move(record), std::chrono::steady_clock::now());
  Reply reply = badRequestPage();
  reply.etag = etagOf(reply.body);
  server_.finishRequest(seq, reply.status);
  co_await write(nullptr, reply, false, false);
}

template <class Stream>
asio::awaitable<bool> HttpSession<Stream>::serve(const Request& request, bool keepAlive) {
  if (ControlApi::isControlPath(request.target.path)) {
    Reply reply = server_.controlApi.handle(request);
    bool again = co_await write(&request, reply, keepAlive, false) && keepAlive;
    co_return again;
  }

  std::optional<FaultRule> fault = server_.faults.take(request.method, request.target.path);
  RequestRecord record;
  record.method = request.method;
  record.target = request.rawTarget;
  record.flavor = request.flavor;
  record.body = request.body;
  if (fault) record.fault = describeFault(*fault);
  std::uint64_t seq = server_.log.begin(std::move(record), std::chrono::steady_clock::now());

  if (fault && fault->latency.count() > 0) co_await sleep(fault->latency);
  if (aborted_) {
    server_.finishRequest(seq, 0);
    co_return false;
  }
  if (fault && fault->reset) {
    server_.finishRequest(seq, 0);
    reset();
    co_return false;
  }
  if (fault && fault->hang) {
    server_.finishRequest(seq, 0);
    co_await hang();
    co_return false;
  }

  Reply reply;
  if (fault && fault->status) {
    reply = statusFaultReply(*server_.api, *fault, request);
  } else {
    reply = server_.api->handle(request);
    auto wait = server_.api->waitRequest(request, server_.options().maxWaitForChange);
    if (wait && reply.status == 200) co_await waitForChange(request, reply, *wait);
    if (aborted_) {
      server_.finishRequest(seq, 0);
      co_return false;
    }
  }
  int ipTtl = reply.ipTtl > 0 ? limitHops(reply.ipTtl) : 0;
  // Logged before the write, so that a client holding the answer always finds it in
  // the log (tests check the log right after their request returns).
  server_.finishRequest(seq, reply.status, ipTtl);
  bool written = co_await write(&request, reply, keepAlive, fault && fault->noFlavor);
  bool again = written && keepAlive && !reply.close;
  co_return again;
}

template <class Stream>
asio::awaitable<void> HttpSession<Stream>::waitForChange(const Request& request, Reply& reply,
                                                         const ProviderApi::WaitRequest& wait) {
  // GCE answers at once when the caller's last_etag is already stale; otherwise (and
  // always without last_etag) it holds the request until the value's ETag moves.
  const std::string baseline = wait.lastEtag.value_or(reply.etag);
  if (baseline != reply.etag) co_return;
  const auto deadline = std::chrono::steady_clock::now() + wait.timeout;
  server_.countWaiting(+1);
  struct Uncount {
    Server& server;
    ~Uncount() { server.countWaiting(-1); }
  } uncount{server_};
  while (!aborted_ && std::chrono::steady_clock::now() < deadline) {
    // Changes are announced on this thread (wakeWaiters is posted), so registering and
    // starting the wait without yielding in between cannot miss one.
    server_.addWaiter(this);
    timer_.expires_at(deadline);
    error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    server_.removeWaiter(this);
    if (aborted_) co_return;
    reply = server_.api->handle(request);
    if (reply.etag != baseline || reply.status != 200) co_return;
  }
}

template <class Stream>
asio::awaitable<bool> HttpSession<Stream>::write(const Request* request, const Reply& reply,
                                                 bool keepAlive, bool noFlavor) {
  Response res;
  res.version(11);
  res.result(static_cast<unsigned>(reply.status));
  res.reason(reasonPhrase(reply.status));
  // Header order follows GCE's answers, for anyone comparing captures.
  if (reply.metadataHeaders && !noFlavor) res.set("Metadata-Flavor", "Google");
  res.set(http::field::content_type, reply.contentType);
  if (reply.metadataHeaders)
    res.set(http::field::etag, reply.etag.empty() ? etagOf(reply.body) : reply.etag);
  res.set(http::field::date, httpDate(std::chrono::system_clock::now()));
  if (reply.metadataHeaders) res.set(http::field::server, "Metadata Server for VM");
  if (!reply.metadataHeaders && !reply.server.empty()) res.set(http::field::server, reply.server);
  for (const auto& [name, value] : reply.extraHeaders) res.set(name, value);
  bool bodyAllowed = reply.status >= 200 && reply.status != 204 && reply.status != 304;
  bool head = request != nullptr && request->method == "HEAD";
  if (head || !bodyAllowed) {
    if (bodyAllowed) res.content_length(reply.body.size());
  } else {
    res.body() = reply.body;
    res.prepare_payload();
  }
  if (reply.metadataHeaders) {
    res.set("X-XSS-Protection", "0");
    res.set("X-Frame-Options", "SAMEORIGIN");
  }
  res.keep_alive(keepAlive && !reply.close);

  error_code ec;
  lowest().expires_after(kWriteTimeout);
  co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && !aborted_;
}

template <class Stream>
asio::awaitable<void> HttpSession<Stream>::sleep(std::chrono::milliseconds delay) {
  // A timer, not a thread sleep: every other connection keeps being served meanwhile.
  // wake() may cut the wait short, so wait out the remainder.
  const auto until = std::chrono::steady_clock::now() + delay;
  while (!aborted_ && std::chrono::steady_clock::now() < until) {
    timer_.expires_at(until);
    error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

template <class Stream>
asio::awaitable<void> HttpSession<Stream>::hang() {
  // Hold the connection open, reading and discarding, until the client gives up (EOF or
  // RST) or the server stops. No deadline: outlasting the client is the point.
  lowest().expires_never();
  char scratch[1024];
  while (!aborted_) {
    error_code ec;
    co_await lowest().async_read_some(asio::buffer(scratch),
                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  error_code ignored;
  lowest().socket().close(ignored);
}

template <class Stream>
int HttpSession<Stream>::limitHops(int hops) {
  // EC2 sends its token answers with the IP TTL set to the PUT response hop limit, so a
  // caller more routers away never receives them. Set before the answer is written and
  // left in place for the rest of the connection: restoring it afterwards would let the
  // kernel's retransmissions of that very answer leave with the default TTL.
  // asio's unicast::hops is IP_TTL on IPv4 sockets and IPV6_UNICAST_HOPS on IPv6 ones.
  auto& socket = lowest().socket();
  error_code ec;
  socket.set_option(asio::ip::unicast::hops(hops), ec);
  if (ec) return 0;
  // What the socket now really has (reported in the request log as ip_ttl).
  asio::ip::unicast::hops applied;
  socket.get_option(applied, ec);
  return ec ? 0 : applied.value();
}

template <class Stream>
void HttpSession<Stream>::reset() {
  // SO_LINGER with a zero timeout makes close() send RST instead of FIN: the client sees
  // "connection reset by peer", as with a firewall REJECT --reject-with tcp-reset.
  error_code ec;
  auto& socket = lowest().socket();
  socket.set_option(asio::ip::tcp::socket::linger(true, 0), ec);
  socket.close(ec);
}

template <class Stream>
asio::awaitable<void> HttpSession<Stream>::closeGracefully() {
  auto& socket = lowest().socket();
  if (!socket.is_open()) co_return;
  error_code ec;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (!ec && !aborted_) {
    lowest().expires_after(kLingerDrain);
    char scratch[1024];
    while (!aborted_) {
      co_await lowest().async_read_some(asio::buffer(scratch),
                                        asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
  }
  socket.close(ec);
}

// The plain-HTTP listener's session, and the HTTPS listener's (tls_listener.cpp).
template class HttpSession<beast::tcp_stream>;
template class HttpSession<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace guestpulse::fake
