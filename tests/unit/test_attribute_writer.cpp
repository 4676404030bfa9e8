#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <random>

#include "agent/report/attribute_writer.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {

RetrySettings retry() { return {1000ms, 60000ms, 2.0, 5}; }

// Checks every window ending at each write: at most 10 in any 60 s, 3 in any 1 s.
void requireWithinLimits(const std::vector<SteadyTime>& writes) {
  for (std::size_t i = 0; i < writes.size(); ++i) {
    std::size_t inMinute = 0, inSecond = 0;
    for (std::size_t j = 0; j <= i; ++j) {
      if (writes[i] - writes[j] < 60s) ++inMinute;
      if (writes[i] - writes[j] < 1s) ++inSecond;
    }
    REQUIRE(inMinute <= 10);
    REQUIRE(inSecond <= 3);
  }
}

}  // namespace

TEST_CASE("30 simulated minutes of heavy reporting never exceed GCE's limits", "[attributes]") {
  // A flapping probe, a heartbeat and status changes every few seconds, with one write in
  // five failing: far more demand than the limits allow.
  std::mt19937 rng(7);
  AttributeWriter writer(retry(), makeUnitRandom(11), 30min);
  SteadyTime start{}, now = start;
  std::vector<SteadyTime> attempts;
  int step = 0;
  while (now - start < 30min) {
    if (step % 20 == 0) writer.set("probe-metadata", step % 40 ? "FAILED net.timeout: x" : "OK");
    if (step % 20 == 0) writer.set("status", step % 40 ? "FAILED" : "OK");
    if (step % 200 == 0) writer.set("heartbeat", std::to_string(step));
    if (step % 60 == 0) writer.set("last-failure", "t" + std::to_string(step));
    auto action = writer.next(now);
    if (action.kind == AttributeWriter::Action::Kind::Write) {
      attempts.push_back(now);
      bool fails = rng() % 5 == 0;
      writer.onOutcome(action.key, action.value,
                       fails ? WriteOutcome::Retry : WriteOutcome::Delivered, now);
    }
    now += 100ms;  // the manual clock
    ++step;
  }
  requireWithinLimits(attempts);
  WARN("30 simulated minutes: " << attempts.size() << " write attempts, "
                                << writer.counters().writes << " delivered, "
                                << writer.counters().failures << " failed");
  CHECK(attempts.size() <= 300);  // 10/min
  CHECK(attempts.size() >= 100);  // and the writer does use its budget
  CHECK(writer.counters().attempts == attempts.size());
}

TEST_CASE("the most urgent value goes first when the budget is short", "[attributes]") {
  AttributeWriter writer(retry(), makeUnitRandom(1), 30min);
  SteadyTime now{};
  writer.set("heartbeat", "t1");
  writer.set("probe-metadata", "FAILED a: b");
  writer.set("last-failure", "t a: b");
  writer.set("status", "FAILED");
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto action = writer.next(now);
    if (action.kind != AttributeWriter::Action::Kind::Write) {
      REQUIRE(action.kind == AttributeWriter::Action::Kind::WaitUntil);
      now = action.until;  // the 3-per-second limit
      action = writer.next(now);
    }
    REQUIRE(action.kind == AttributeWriter::Action::Kind::Write);
    order.push_back(action.key);
    writer.onOutcome(action.key, action.value, WriteOutcome::Delivered, now);
  }
  CHECK(order == std::vector<std::string>{"status", "last-failure", "probe-metadata", "heartbeat"});
}

TEST_CASE("after an outage the recovery finds room in the budget", "[attributes]") {
  AttributeWriter writer(retry(), makeUnitRandom(3), 30min);
  SteadyTime now{};
  writer.set("status", "FAILED");
  int failedAttempts = 0;
  for (; now < SteadyTime{} + 60s; now += 50ms) {
    auto action = writer.next(now);
    if (action.kind != AttributeWriter::Action::Kind::Write) continue;
    ++failedAttempts;
    writer.onOutcome(action.key, action.value, WriteOutcome::Retry, now);
  }
  CHECK(failedAttempts <= 5);
  // The server is back: status, probe and last-failure all go out at once.
  writer.set("status", "OK");
  writer.set("probe-metadata", "OK");
  writer.set("last-failure", "t metadata x: y");
  writer.skipBackoff(now);
  int delivered = 0;
  for (SteadyTime end = now + 2s; now < end; now += 50ms) {
    auto action = writer.next(now);
    if (action.kind != AttributeWriter::Action::Kind::Write) continue;
    writer.onOutcome(action.key, action.value, WriteOutcome::Delivered, now);
    ++delivered;
  }
  CHECK(delivered == 3);
  CHECK(writer.queue().empty());
}

TEST_CASE("403 stops writing until the recheck, a later 200 re-enables", "[attributes]") {
  AttributeWriter writer(retry(), makeUnitRandom(1), 30min);
  SteadyTime now{};
  writer.set("status", "OK");
  auto first = writer.next(now);
  REQUIRE(first.kind == AttributeWriter::Action::Kind::Write);
  CHECK(writer.onOutcome(first.key, first.value, WriteOutcome::Disabled, now));  // changed
  CHECK(writer.disabled());
  // Lots of new values for half an hour: not one write.
  for (int i = 0; i < 1799; ++i) {
    now += 1s;
    writer.set("heartbeat", std::to_string(i));
    CHECK(writer.next(now).kind == AttributeWriter::Action::Kind::WaitUntil);
  }
  now += 1s;
  auto recheck = writer.next(now);
  REQUIRE(recheck.kind == AttributeWriter::Action::Kind::Write);
  CHECK(writer.onOutcome(recheck.key, recheck.value, WriteOutcome::Delivered, now));
  CHECK_FALSE(writer.disabled());
  CHECK(writer.counters().attempts == 2);
}

TEST_CASE("failures back off with jitter and keep the value, 4xx drops it", "[attributes]") {
  AttributeWriter writer(
      retry(), [] { return 1.0; }, 30min);
  SteadyTime now{};
  writer.set("status", "FAILED");
  std::vector<Duration> gaps;
  SteadyTime last = now;
  for (int i = 0; i < 8; ++i) {
    auto action = writer.next(now);
    while (action.kind == AttributeWriter::Action::Kind::WaitUntil) {
      now = action.until;
      action = writer.next(now);
    }
    REQUIRE(action.kind == AttributeWriter::Action::Kind::Write);
    if (i) gaps.push_back(std::chrono::duration_cast<Duration>(now - last));
    last = now;
    writer.onOutcome(action.key, action.value, WriteOutcome::Retry, now);
  }
  // Ceilings 2s, 4s, 8s ... capped at 60s (random pinned to the top of the window), and
  // never closer than 12 s so failures use at most half of the budget.
  CHECK(gaps == std::vector<Duration>{12s, 12s, 12s, 16s, 32s, 60s, 60s});
  CHECK(writer.queue().size() == 1);

  AttributeWriter refusing(retry(), makeUnitRandom(1), 30min);
  refusing.set("probe-x", "OK");
  auto action = refusing.next(SteadyTime{});
  refusing.onOutcome(action.key, action.value, WriteOutcome::Refused, SteadyTime{});
  CHECK(refusing.queue().empty());
  CHECK(refusing.counters().dropped == 1);
}

TEST_CASE("the heartbeat leaves room for a recovery within the same minute", "[attributes]") {
  AttributeWriter writer(retry(), makeUnitRandom(5), 30min);
  SteadyTime now{};
  auto drain = [&](SteadyTime until) {
    int n = 0;
    for (; now < until; now += 100ms) {
      auto action = writer.next(now);
      if (action.kind != AttributeWriter::Action::Kind::Write) continue;
      writer.onOutcome(action.key, action.value, WriteOutcome::Delivered, now);
      ++n;
    }
    return n;
  };
  // Start: status, three probes, heartbeat. A failure: status, probe, last-failure.
  for (const char* key : {"status", "probe-a", "probe-b", "probe-c", "heartbeat"})
    writer.set(key, "1");
  drain(now + 5s);
  for (const char* key : {"status", "probe-a", "last-failure"}) writer.set(key, "2");
  drain(now + 5s);
  // Heartbeats keep coming; they must not use up the minute.
  for (int i = 0; i < 4; ++i) {
    writer.set("heartbeat", std::to_string(i));
    drain(now + 5s);
  }
  // The recovery: both values go out now, not a minute later.
  writer.set("status", "OK");
  writer.set("probe-a", "OK");
  CHECK(drain(now + 2s) == 2);
  CHECK(writer.queue().pending().count("status") == 0);
}

namespace {

// Runs `writer` for `length` on a manual clock, answering each write with `answer` and
// setting a new heartbeat every minute; returns the keys written, in order.
std::vector<std::string> drive(AttributeWriter& writer, SteadyTime& now, Duration length,
                               const std::function<WriteOutcome(const std::string&)>& answer) {
  std::vector<std::string> written;
  int tick = 0;
  for (SteadyTime end = now + length; now < end; now += 100ms, ++tick) {
    if (tick % 600 == 0) writer.set("heartbeat", "t" + std::to_string(tick));
    auto action = writer.next(now);
    if (action.kind != AttributeWriter::Action::Kind::Write) continue;
    written.push_back(action.key);
    writer.onOutcome(action.key, action.value, answer(action.key), now);
  }
  return written;
}

}  // namespace

TEST_CASE("a value the server keeps failing holds up nothing, and is dropped after its strikes",
          "[attributes][hostile]") {
  // `status` (the most urgent key) fails every time, say a value the server chokes on,
  // while the server takes every other value.
  AttributeWriter writer(retry(), makeUnitRandom(9), 30min);
  SteadyTime now{};
  for (const char* key : {"status", "last-failure", "probe-a", "probe-b"}) writer.set(key, "v");
  auto written = drive(writer, now, 15s, [](const std::string& key) {
    return key == "status" ? WriteOutcome::Retry : WriteOutcome::Delivered;
  });
  // One failure of status, then the others go out: nothing waits behind it.
  CHECK(written.front() == "status");
  CHECK(writer.queue().pending().count("last-failure") == 0);
  CHECK(writer.queue().pending().count("probe-a") == 0);
  CHECK(writer.queue().pending().count("probe-b") == 0);
  CHECK(writer.queue().pending().count("status") == 1);

  // It keeps failing while heartbeats are delivered in between: dropped at its third
  // strike, counted, and never tried again.
  written = drive(writer, now, 5min, [](const std::string& key) {
    return key == "status" ? WriteOutcome::Retry : WriteOutcome::Delivered;
  });
  CHECK(writer.counters().dropped == 1);
  CHECK(writer.queue().pending().count("status") == 0);
  // A strike needs a delivery since the last failure: with only status pending it is
  // retried (12 s apart) without a strike until the next heartbeat goes out.
  auto statusWrites = std::count(written.begin(), written.end(), "status");
  CHECK(statusWrites >= AttributeWriter::kMaxValueStrikes);
  CHECK(statusWrites <= 20);
  CHECK(std::count(written.begin(), written.end(), "heartbeat") >= 4);

  // A new value for the key starts afresh, and is delivered when the server takes it.
  writer.set("status", "OK");
  drive(writer, now, 15s, [](const std::string&) { return WriteOutcome::Delivered; });
  CHECK(writer.queue().empty());
  CHECK(writer.counters().dropped == 1);
}

TEST_CASE("in an outage every value fails and none is dropped", "[attributes][hostile]") {
  AttributeWriter writer(retry(), makeUnitRandom(4), 30min);
  SteadyTime now{};
  for (const char* key : {"status", "last-failure", "probe-a"}) writer.set(key, "v");
  auto written = drive(writer, now, 30min, [](const std::string&) { return WriteOutcome::Retry; });
  CHECK(written.size() >= 30);
  CHECK(writer.counters().dropped == 0);
  CHECK(writer.queue().size() == 4);  // the three values and the latest heartbeat
  // Parked values take turns, so each is tried.
  for (const char* key : {"status", "last-failure", "probe-a", "heartbeat"})
    CHECK(std::count(written.begin(), written.end(), key) >= 1);
  // The server is back: everything goes out, status first, although the heartbeat is
  // the one value set since its last failure.
  writer.skipBackoff(now);
  written = drive(writer, now, 3s, [](const std::string&) { return WriteOutcome::Delivered; });
  CHECK(writer.queue().empty());
  REQUIRE_FALSE(written.empty());
  CHECK(written.front() == "status");
}
