#include "agent/report/serial_sink.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "agent/core/logging.hpp"
#include "agent/report/serial_line.hpp"

namespace guestpulse {
namespace {

std::string describe(const platform::SerialWriteResult& r, Duration timeout) {
  if (r.status == platform::SerialWriteStatus::WouldBlock) {
    return "write timeout after " + formatDuration(timeout) + " (nobody reading?)";
  }
  return r.error.empty() ? std::string("unavailable") : r.error;
}

}  // namespace

SerialConsoleSink::SerialConsoleSink(std::string device, SerialSinkOptions options,
                                     SerialPortFactory factory)
    : device_(std::move(device)),
      options_([&] {
        options.capacity = std::max<std::size_t>(options.capacity, 1);
        options.initialBackoff = std::max(options.initialBackoff, Duration(1));
        options.maxBackoff = std::max(options.maxBackoff, options.initialBackoff);
        return std::move(options);
      }()),
      factory_(factory ? std::move(factory) : SerialPortFactory([](const std::string& d) {
        return platform::openSerialPort(d);
      })),
      writer_([this] { run(); }) {}

SerialConsoleSink::~SerialConsoleSink() { stop(); }

void SerialConsoleSink::post(std::string line) {
  if (line.empty() || line.back() != '\n') line += '\n';
  if (line.size() > kSerialLineMax) {
    line.resize(kSerialLineMax - 1);
    line += '\n';
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(line));
    if (queue_.size() > options_.capacity) {
      queue_.pop_front();
      ++dropped_;
      ++unreportedDrops_;
    }
    updateQueued();
  }
  wake_.notify_one();
}

bool SerialConsoleSink::flush(Duration bound) {
  std::unique_lock lock(mutex_);
  // A shutdown flush should not sit out the rest of a long backoff.
  retryAt_ = SteadyTime{};
  wake_.notify_one();
  return drained_.wait_for(lock, bound, [this] { return idle() || stopping_; }) && idle();
}

void SerialConsoleSink::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  drained_.notify_all();
  if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer_.join();
}

Duration SerialConsoleSink::backoff() const {
  std::lock_guard lock(mutex_);
  return backoff_;
}

bool SerialConsoleSink::idle() const {
  return queue_.empty() && !inFlight_ && unreportedDrops_ == 0;
}

void SerialConsoleSink::updateQueued() {
  queued_ = queue_.size() + (inFlight_ && !inFlight_->dropNotice ? 1 : 0);
}

WallTime SerialConsoleSink::wallNow() const {
  return options_.wallClock ? options_.wallClock() : WallClock::now();
}

bool SerialConsoleSink::takeNext() {
  if (inFlight_) return true;
  if (unreportedDrops_ > 0) {
    // Generated only now, so the count covers every drop up to this moment.
    inFlight_ =
        InFlight{formatSerialDropLine(wallNow(), unreportedDrops_), 0, true, unreportedDrops_};
    unreportedDrops_ = 0;
    return true;
  }
  if (queue_.empty()) return false;
  inFlight_ = InFlight{std::move(queue_.front()), 0, false, 0};
  queue_.pop_front();
  return true;
}

void SerialConsoleSink::giveBack() {
  // A line the device took part of must be finished, whatever it costs; one it took
  // nothing of goes back in line, so drop-oldest still applies to it.
  if (!inFlight_ || inFlight_->offset > 0) return;
  if (inFlight_->dropNotice) {
    unreportedDrops_ += inFlight_->reports;  // re-counted and re-stamped next time
  } else {
    queue_.push_front(std::move(inFlight_->text));
    if (queue_.size() > options_.capacity) {
      queue_.pop_front();
      ++dropped_;
      ++unreportedDrops_;
    }
  }
  inFlight_.reset();
}

void SerialConsoleSink::run() {
  std::unique_lock lock(mutex_);
  bool warned = false;
  std::uint64_t failedAttempts = 0;  // in a row, without progress
  for (;;) {
    if (stopping_) break;
    if (!inFlight_ && queue_.empty() && unreportedDrops_ == 0) {
      wake_.wait(lock);
      continue;
    }
    if (SteadyClock::now() < retryAt_) {
      wake_.wait_until(lock, retryAt_);
      continue;
    }
    takeNext();
    updateQueued();
    const std::string_view rest = std::string_view(inFlight_->text).substr(inFlight_->offset);

    // Only this thread touches inFlight_'s text and port_, so the write runs unlocked:
    // post() stays O(1) however long the device takes.
    lock.unlock();
    if (!port_) port_ = factory_(device_);
    platform::SerialWriteResult result;
    if (port_) {
      result = port_->write(rest, options_.writeTimeout);
    } else {
      result = {platform::SerialWriteStatus::Unavailable, 0, "no serial port for " + device_};
    }
    lock.lock();

    const std::size_t accepted = std::min(result.written, rest.size());
    inFlight_->offset += accepted;
    if (inFlight_->offset == inFlight_->text.size()) {
      if (!inFlight_->dropNotice) ++written_;
      inFlight_.reset();
    }
    if (result.status != platform::SerialWriteStatus::Written || accepted == 0) ++writeErrors_;

    std::string warning, notice;  // logged after unlocking
    if (accepted > 0) {
      backoff_ = Duration::zero();
      retryAt_ = SteadyTime{};
      if (warned) {
        notice = "serial console " + device_ + " writable again after " +
                 std::to_string(failedAttempts) + " failed attempts";
      }
      warned = false;
      failedAttempts = 0;
    } else {
      giveBack();
      backoff_ = backoff_ == Duration::zero() ? options_.initialBackoff
                                              : std::min(backoff_ * 2, options_.maxBackoff);
      retryAt_ = SteadyClock::now() + backoff_;
      ++failedAttempts;
      // Once per outage, not per retry: a console nobody reads is a normal state. A
      // timeout or two is flow control from a slow reader, not yet an outage.
      constexpr std::uint64_t kStallAttempts = 3;
      if (!warned && (result.status == platform::SerialWriteStatus::Unavailable ||
                      failedAttempts >= kStallAttempts)) {
        warning = "serial console " + device_ + ": " + describe(result, options_.writeTimeout) +
                  "; keeping up to " + std::to_string(options_.capacity) + " lines and retrying";
        warned = true;
      }
    }
    updateQueued();
    drained_.notify_all();
    if (!warning.empty() || !notice.empty()) {
      // Never log under the lock: a stalled stderr/journal must not stall post().
      lock.unlock();
      if (!warning.empty()) logger("serial")->warn("{}", warning);
      if (!notice.empty()) logger("serial")->info("{}", notice);
      lock.lock();
    }
  }
  lock.unlock();
  if (port_) port_->close();
}

}  // namespace guestpulse
