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
