#include "agent/report/guest_attribute_sink.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "agent/core/logging.hpp"
#include "agent/core/state_file_writer.hpp"
#include "agent/core/text.hpp"
#include "platform/files.hpp"

namespace guestpulse {

namespace asio = boost::asio;

std::string guestAttributeValue(std::string_view value) {
  return clipText(hasControls(value) ? escapeControls(value) : std::string(value),
                  kMaxAttributeValue);
}

bool isAgentAttributeKey(std::string_view key) {
  if (key == "status" || key == "heartbeat" || key == "last-failure") return true;
  if (!key.starts_with("probe-")) return false;
  std::string_view name = key.substr(6);
  if (name.empty() || name.size() > 63) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

PersistedAttributes parsePersistedAttributes(std::string_view text, const std::string& ns) {
  PersistedAttributes out;
  boost::system::error_code ec;
  auto parsed = boost::json::parse(text, ec);
  if (ec || !parsed.is_object()) {
    out.error = ec ? ec.message() : "not an object";
    return out;
  }
  out.readable = true;
  const auto& root = parsed.as_object();
  // Values queued for another namespace are not ours to deliver any more.
  if (auto* n = root.if_contains("namespace"); !n || !n->is_string() || n->as_string() != ns)
    return out;
  auto* pending = root.if_contains("pending");
  if (!pending || !pending->is_object()) return out;
  for (const auto& [key, value] : pending->as_object()) {
    // Only what this agent writes comes back: anything else in the file was not put
    // there by it, and a key such as "../x" or "a/b" must never reach a request path.
    if (!isAgentAttributeKey(key)) {
      ++out.foreign;
      continue;
    }
    if (!value.is_string() || value.as_string().size() > kMaxAttributeValue ||
        hasControls(value.as_string())) {
      ++out.unsendable;
      continue;
    }
    if (out.values.size() >= kMaxRestoredAttributes) {
      ++out.surplus;
      continue;
    }
    out.values.emplace_back(std::string(key), std::string(value.as_string()));
  }
  return out;
}

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
  writer_.set(key, guestAttributeValue(value));
  persist();
  wake_.cancel();
}

void GuestAttributeSink::refresh(const std::string& key, const std::string& value) {
  writer_.queue().refresh(key, guestAttributeValue(value));
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
  auto log = logger("guest-attributes");
  platform::FileRead read = platform::readRegularFile(options_.persistPath, kMaxAttributeFileBytes);
  if (!read.content) {
    if (!read.missing)
      log->warn("ignoring {}: {}; its unsent values are lost", options_.persistPath, read.error);
    return;
  }
  PersistedAttributes found = parsePersistedAttributes(*read.content, options_.ns);
  if (!found.readable) {
    log->warn("ignoring unreadable {}: {}", options_.persistPath, found.error);
    return;
  }
  for (auto& [key, value] : found.values) {
    writer_.set(key, value);
    ++restored_;
  }
  const std::size_t foreign = found.foreign, unsendable = found.unsendable, surplus = found.surplus;
  discarded_ = found.discarded();
  if (restored_)
    log->info("{} unsent guest attribute(s) restored from {}", restored_, options_.persistPath);
  if (discarded_) {
    log->warn(
        "{} entr{} of {} discarded: {} key(s) this agent never writes, {} value(s) not a "
        "string, longer than {} bytes or with control characters, {} past the limit of {}",
        discarded_, discarded_ == 1 ? "y" : "ies", options_.persistPath, foreign, unsendable,
        kMaxAttributeValue, surplus, kMaxRestoredAttributes);
    persist();  // the file now holds only what will be sent
  } else {
    persisted_ = std::move(*read.content);
  }
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
  if (options_.writer) {
    options_.writer->write(options_.persistPath, text, true);
    persisted_ = std::move(text);
    return;
  }
  if (std::string error = platform::replaceFileAtomically(options_.persistPath, text, true);
      !error.empty()) {
    if (!persistWarned_)
      logger("guest-attributes")->warn("cannot persist unsent guest attributes: {}", error);
    persistWarned_ = true;
    return;
  }
  if (persistWarned_) logger("guest-attributes")->info("unsent guest attributes persisted again");
  persistWarned_ = false;
  persisted_ = std::move(text);
}

void GuestAttributeSink::noteOutcome(const std::string& key, const MetadataResult& put,
                                     WriteOutcome outcome) {
  auto log = logger("guest-attributes");
  SteadyTime now = SteadyClock::now();
  if (outcome == WriteOutcome::Retry) {
    ++episodeFailures_;
    if (failing_) return;
    failing_ = true;
    episodeStart_ = now;
    // A new episode soon after the last one is not worth a line of its own: the recovery
    // line of an unlogged episode is skipped too, so the log stays quiet while it flaps.
    failureLogged_ = !lastFailureLog_ || now - *lastFailureLog_ >= kFailureLogSpacing;
    if (!failureLogged_) return;
    lastFailureLog_ = now;
    std::string why = put.attempts.empty() ? std::string("no request made")
                                           : put.last().describe(client_.endpoint().display());
    if (put.last().ok() && !put.flavorOk) why += " without Metadata-Flavor: Google";
    log->warn(
        "guest attribute writes are failing: PUT {}: {}; {} value(s) kept and retried with "
        "backoff (further failures are counted, not logged)",
        key, quoteOutside(why, kMaxResultText), writer_.queue().size());
    return;
  }
  if (outcome == WriteOutcome::Delivered && failing_) {
    if (failureLogged_)
      log->info("guest attribute writes work again after {} failed attempt(s) over {}",
                episodeFailures_,
                formatDuration(std::chrono::duration_cast<Duration>(now - episodeStart_)));
    failing_ = false;
    episodeFailures_ = 0;
  }
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
  WriteOutcome outcome = WriteOutcome::Refused;
  if (status == 200 && put.flavorOk)
    outcome = WriteOutcome::Delivered;
  else if (status == 403 && put.flavorOk)
    outcome = WriteOutcome::Disabled;
  else if (status == 0 || !put.flavorOk || isRetryable(AttemptOutcome::status(status)))
    outcome = WriteOutcome::Retry;
  if (outcome == WriteOutcome::Retry)
    logger("guest-attributes")
        ->debug("PUT {} failed: {}", key,
                quoteOutside(put.last().describe(client_.endpoint().display()), kMaxResultText));
  if (outcome == WriteOutcome::Refused)
    logger("guest-attributes")
        ->error("metadata server refused guest attribute {}=\"{}\": HTTP {}; value dropped", key,
                quoteOutside(value), status);
  noteOutcome(key, put, outcome);
  co_return outcome;
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
    const std::uint64_t droppedBefore = writer_.counters().dropped;
    bool disabledChanged = writer_.onOutcome(action.key, action.value, outcome, SteadyClock::now());
    if (outcome == WriteOutcome::Retry && writer_.counters().dropped > droppedBefore)
      log->error(
          "guest attribute {}=\"{}\" dropped: its write failed at least {} times while the "
          "server took other values",
          action.key, quoteOutside(action.value), AttributeWriter::kMaxValueStrikes + 1);
    if (disabledChanged) {
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
