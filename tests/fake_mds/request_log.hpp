#pragma once
// The bounded log of non-control requests. A request is recorded when it has been read
// (so sequence numbers and timestamps are in arrival order) and completed when answered.
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/fake_mds/fake_mds.hpp"

namespace guestpulse::fake {

class RequestLog {
 public:
  explicit RequestLog(std::size_t capacity);

  // Timestamps (tMs) count from here; set when the server starts.
  void setEpoch(std::chrono::steady_clock::time_point epoch);

  // Records `partial` (method, target, flavor, body, fault) as arriving `now`; assigns and
  // returns its seq. The body is truncated to 1 KiB. Drops the oldest beyond capacity.
  std::uint64_t begin(RequestRecord partial, std::chrono::steady_clock::time_point now);
  // Sets the final status and duration; returns the completed record, or nullopt when it
  // has been cleared or dropped meanwhile.
  std::optional<RequestRecord> finish(std::uint64_t seq, int status,
                                      std::chrono::steady_clock::time_point now, int ipTtl = 0);

  std::vector<RequestRecord> list(std::uint64_t afterSeq = 0) const;
  void clear();

  // Called after begin/finish/clear, outside the lock.
  void setOnChange(std::function<void()> onChange);

 private:
  RequestRecord* findLocked(std::uint64_t seq);

  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::chrono::steady_clock::time_point epoch_;
  std::deque<RequestRecord> records_;
  std::uint64_t nextSeq_ = 1;
  std::function<void()> onChange_;
};

// The control API's form: a JSON array of {"seq","t_ms","wall","method","target","status",
// "flavor","body","fault","duration_ms"} plus "ip_ttl" where the fake set one, times in plain
// decimal milliseconds (3 places).
std::string requestsToJson(const std::vector<RequestRecord>& records);

}  // namespace guestpulse::fake
