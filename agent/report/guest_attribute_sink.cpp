#include "agent/report/guest_attribute_sink.hpp"

#include <fstream>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "agent/core/logging.hpp"
#include "platform/files.hpp"

namespace guestpulse {

namespace asio = boost::asio;

GuestAttributeSink::GuestAttributeSink(asio::any_io_executor executor, MetadataClient& client,
                                       Options options, RetrySettings retry, UnitRandom random)
    : client_(client),
      options_(std::move(options)),
      writer_(retry, std::move(random), options_.disabledRecheck),
      wake_(executor),
      finished_(executor) {
  load();
}

void GuestAttributeSink::set(const std::string& key, const std::string& value) {
  writer_.set(key, value);
  persist();
  wake_.cancel();
}

void GuestAttributeSink::refresh(const std::string& key, const std::string& value) {
  writer_.queue().refresh(key, value);
  persist();
  wake_.cancel();
}

void GuestAttributeSink::retryNow() {
  if (writer_.disabled()) return;  // a recovery of the probe says nothing about the 403
  writer_.skipBackoff(SteadyClock::now());
  wake_.cancel();
}

void GuestAttributeSink::load() {
  if (options_.persistPath.empty()) return;
  std::ifstream in(options_.persistPath);
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto parsed = boost::json::parse(text.str(), ec);
  auto log = logger("guest-attributes");
  if (ec || !parsed.is_object()) {
    log->warn("ignoring unreadable {}: {}", options_.persistPath,
              ec ? ec.message() : "not an object");
    return;
  }
  const auto& root = parsed.as_object();
  // Values queued for another namespace are not ours to deliver any more.
  if (auto* ns = root.if_contains("namespace");
      !ns || !ns->is_string() || ns->as_string() != options_.ns)
    return;
  if (auto* pending = root.if_contains("pending"); pending && pending->is_object()) {
    for (const auto& [key, value] : pending->as_object()) {
      if (!value.is_string()) continue;
      writer_.set(std::string(key), std::string(value.as_string()));
      ++restored_;
    }
  }
  persisted_ = text.str();
  if (restored_)
    log->info("{} unsent guest attribute(s) restored from {}", restored_, options_.persistPath);
}

void GuestAttributeSink::persist() {
  if (options_.persistPath.empty()) return;
  boost::json::object pending;
  for (const auto& [key, value] : writer_.queue().pending()) pending[key] = value;
  // The heartbeat alone is not worth a disk write: it is stale after a restart anyway.
  if (pending.size() == 1 && pending.contains("heartbeat")) pending.clear();
  boost::json::object root{{"version", 1}, {"namespace", options_.ns}, {"pending", pending}};
  std::string text = boost::json::serialize(root) + "\n";
  if (text == persisted_) return;
  if (std::string error = platform::replaceFileAtomically(options_.persistPath, text, true);
      !error.empty()) {
    logger("guest-attributes")->warn("cannot persist unsent guest attributes: {}", error);
    return;
  }
  persisted_ = std::move(text);
}

asio::awaitable<void> GuestAttributeSink::sleepUntil(SteadyTime when) {
  wake_.expires_at(when);
  co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<WriteOutcome> GuestAttributeSink::send(const std::string& key,
                                                       const std::string& value) {
  // One attempt per write: the writer keeps the value and schedules retries itself, so a
  // retry never bypasses the rate limiter.
  MetadataResult put =
      co_await client_.put("instance/guest-attributes/" + options_.ns + "/" + key, value, 1);
  int status = put.status();
  if (status == 200 && put.flavorOk) co_return WriteOutcome::Delivered;
  if (status == 403 && put.flavorOk) co_return WriteOutcome::Disabled;
  if (status == 0 || !put.flavorOk || isRetryable(AttemptOutcome::status(status))) {
    logger("guest-attributes")
        ->debug("PUT {} failed: {}", key, put.last().describe(client_.endpoint().display()));
    co_return WriteOutcome::Retry;
  }
  logger("guest-attributes")
      ->error("metadata server refused guest attribute {}={:?}: HTTP {}; value dropped", key, value,
              status);
  co_return WriteOutcome::Refused;
}

asio::awaitable<void> GuestAttributeSink::run() {
  auto log = logger("guest-attributes");
  runStarted_ = true;
  finished_.expires_at(SteadyTime::max());
  bool backoffSkipped = false;
  for (;;) {
    if (mode_ == Mode::Draining && !backoffSkipped) {
      // What waited out a backoff gets one more chance at shutdown.
      writer_.skipBackoff(SteadyClock::now());
      writer_.finalFlush();
      backoffSkipped = true;
    }
    SteadyTime now = SteadyClock::now();
    if (mode_ == Mode::Draining && (now >= drainDeadline_ || writer_.disabled())) break;
    AttributeWriter::Action action = writer_.next(now);
    if (action.kind == AttributeWriter::Action::Kind::Idle) {
      if (mode_ == Mode::Draining) break;
      co_await sleepUntil(SteadyTime::max());
      continue;
    }
    if (action.kind == AttributeWriter::Action::Kind::WaitUntil) {
      if (mode_ == Mode::Draining && action.until >= drainDeadline_) break;
      co_await sleepUntil(action.until);
      continue;
    }
    WriteOutcome outcome = co_await send(action.key, action.value);
    if (writer_.onOutcome(action.key, action.value, outcome, SteadyClock::now())) {
      if (writer_.disabled()) {
        log->warn(
            "guest attributes are disabled on this VM (HTTP 403); not writing them. Enable "
            "with: gcloud compute instances add-metadata VM "
            "--metadata=enable-guest-attributes=TRUE. Rechecking every {}",
            formatDuration(options_.disabledRecheck));
        if (onDisabled_) onDisabled_(true, "PUT guest attribute returned HTTP 403");
      } else {
        log->info("guest attributes are writable again");
        if (onDisabled_) onDisabled_(false, {});
      }
    }
    persist();
    // While draining, a failed write means the server is unreachable: keep the rest for
    // the next start rather than spend the whole bound waiting.
    if (mode_ == Mode::Draining && outcome == WriteOutcome::Retry) break;
  }
  mode_ = Mode::Stopped;
  runExited_ = true;
  persist();
  finished_.cancel();
}

asio::awaitable<void> GuestAttributeSink::stopAndDrain(Duration bound) {
  if (mode_ != Mode::Running) co_return;
  if (!runStarted_ || runExited_) {
    mode_ = Mode::Stopped;
    co_return;
  }
  mode_ = Mode::Draining;
  drainDeadline_ = SteadyClock::now() + bound;
  wake_.cancel();
  co_await finished_.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace guestpulse
