#include <catch2/catch.hpp>

#include "agent/report/attribute_queue.hpp"

using namespace guestpulse;

TEST_CASE("the queue coalesces by key and the latest value wins", "[attributes]") {
  AttributeQueue q;
  q.set("status", "OK");
  q.set("status", "FAILED");
  REQUIRE(q.size() == 1);
  CHECK(q.next()->second == "FAILED");
}

TEST_CASE("status and last-failure go before probe results, heartbeat last", "[attributes]") {
  AttributeQueue q;
  q.set("heartbeat", "t");
  q.set("probe-metadata", "FAILED x: y");
  q.set("last-failure", "t metadata x: y");
  q.set("status", "FAILED");
  std::vector<std::string> order;
  while (auto next = q.next()) {
    order.push_back(next->first);
    q.delivered(next->first, next->second);
  }
  CHECK(order == std::vector<std::string>{"status", "last-failure", "probe-metadata", "heartbeat"});
}

TEST_CASE("a value changed while in flight stays queued", "[attributes]") {
  AttributeQueue q;
  q.set("status", "FAILED");
  auto inFlight = *q.next();
  q.set("status", "OK");
  q.delivered(inFlight.first, inFlight.second);
  REQUIRE(q.next());
  CHECK(q.next()->second == "OK");
}

TEST_CASE("values the server already holds are not written again", "[attributes]") {
  AttributeQueue q;
  q.set("status", "OK");
  q.delivered("status", "OK");
  q.set("status", "OK");
  CHECK(q.empty());
  q.set("status", "FAILED");
  q.set("status", "OK");  // back to what the server shows: nothing to write
  CHECK(q.empty());
  q.forgetDelivered();
  q.set("status", "OK");
  CHECK(q.size() == 1);
}

TEST_CASE("refreshes go after real changes and yield to them", "[attributes]") {
  AttributeQueue q;
  for (const char* key : {"status", "last-failure", "probe-a", "probe-b"}) {
    q.set(key, "old");
    q.delivered(key, "old");
  }
  q.set("probe-b", "OK");      // the real change
  q.refresh("status", "old");  // the snapshot after the server came back
  q.refresh("last-failure", "old");
  q.refresh("probe-b", "ignored");  // a real change is pending: it stays
  q.refresh("probe-a", "old");
  REQUIRE(q.next());
  CHECK(q.next()->first == "probe-b");
  CHECK(q.next()->second == "OK");
  q.delivered("probe-b", "OK");
  CHECK(q.next()->first == "status");  // then the refreshes, by priority
  q.set("status", "FAILED");           // a change overtakes the refresh of the same key
  CHECK_FALSE(q.isRefresh("status"));
  q.delivered("status", "FAILED");
  CHECK(q.next()->first == "last-failure");
  q.delivered("last-failure", "old");
  CHECK(q.next()->first == "probe-a");
  q.delivered("probe-a", "old");
  CHECK(q.empty());
}
