#pragma once
// The active fault-injection rules (see FaultRule in fake_mds.hpp) and their JSON form
// for the control API. Thread-safe: rules are added from test threads and consumed by
// the server thread.

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "tests/fake_mds/fake_mds.hpp"

namespace guestpulse::fake {

class FaultTable {
 public:
  // Assigns and returns a new id. Throws std::invalid_argument for an invalid rule.
  std::uint64_t add(FaultRule rule);
  bool remove(std::uint64_t id);
  void clear();
  std::vector<FaultRule> list() const;

  // The first rule matching the request, with one use consumed (a rule whose count
  // reaches 0 is removed). nullopt when no rule matches.
  std::optional<FaultRule> take(std::string_view method, std::string_view path);

  // Called after add/remove/clear, outside the lock.
  void setOnChange(std::function<void()> onChange);

 private:
  mutable std::mutex mutex_;
  std::vector<FaultRule> rules_;
  std::uint64_t nextId_ = 1;
  std::function<void()> onChange_;
};

// Throws std::invalid_argument naming the problem.
void validateFaultRule(const FaultRule& rule);
// "status+latency" style summary of what a rule does, as recorded in the request log.
std::string describeFault(const FaultRule& rule);

boost::json::object faultToJson(const FaultRule& rule);
// Accepts the control API's object form; unknown keys are errors so that a typo in a test
// ("latency": 500) fails loudly instead of injecting nothing. Throws std::invalid_argument.
FaultRule faultFromJson(const boost::json::value& json);

}  // namespace guestpulse::fake
