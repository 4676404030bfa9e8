#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "agent/core/state_file_writer.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

TEST_CASE("state files are written in the order they were asked for", "[hostile][state]") {
  // The first write is held until every other request is in, so all of them wait
  // together; the writer must then take them in request order, not by name.
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  std::vector<std::string> order;
  StateFileWriter writer(50ms, [&](const std::string& path, const std::string& content, bool) {
    std::unique_lock lock(mutex);
    if (path == "first") released.wait(lock, [&] { return release; });
    order.push_back(path + "=" + content);
    return std::string();
  });
  writer.write("first", "1", true);
  // Not in name order: health.json before guest-attributes.json, as the agent does at a
  // transition; status.json is rewritten while it waits and keeps its place.
  writer.write("status.json", "a", false);
  writer.write("health.json", "h", true);
  writer.write("guest-attributes.json", "g", true);
  writer.write("status.json", "b", false);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  released.notify_all();
  REQUIRE(writer.flush(5s));
  std::lock_guard lock(mutex);
  CHECK(order == std::vector<std::string>{"first=1", "status.json=b", "health.json=h",
                                          "guest-attributes.json=g"});
}
