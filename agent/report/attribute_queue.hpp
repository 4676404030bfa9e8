#pragma once
// The write-behind queue of guest attributes. I/O-free.
//  - coalesces by key: the latest value wins;
//  - hands out keys by priority: status, last-failure, probe-*, others, heartbeat last;
//  - skips a value equal to the one already delivered for that key;
//  - a refresh (re-sending a value the server should already hold, e.g. after it came
//    back and may have lost it) ranks below every real change;
//  - a parked value (its last write failed) ranks below everything else, so one value
//    the server keeps failing cannot hold up the others. A new value unparks the key.

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace guestpulse {

class AttributeQueue {
 public:
  // Queues `value` for `key` unless the server already holds exactly that value.
  void set(const std::string& key, const std::string& value);
  // Queues `value` to be written again even if delivered before, after all real changes.
  void refresh(const std::string& key, const std::string& value);
  // The most urgent pending key and its value.
  std::optional<std::pair<std::string, std::string>> next() const;
  // Records a successful write; the key stays pending if a newer value arrived meanwhile.
  void delivered(const std::string& key, const std::string& value);
  // Drops a pending value the server refused for good (e.g. 400).
  void discard(const std::string& key, const std::string& value);
  // Ranks the pending `key` last until it is delivered or gets a new value.
  void park(const std::string& key);
  bool isParked(const std::string& key) const { return parked_.count(key) > 0; }
  void unparkAll() { parked_.clear(); }

  std::size_t size() const { return pending_.size(); }
  bool empty() const { return pending_.empty(); }
  const std::map<std::string, std::string>& pending() const { return pending_; }
  // Forgets what was delivered so every value is written again (e.g. after the feature
  // was re-enabled, or the server lost its state).
  void forgetDelivered() { delivered_.clear(); }
  bool isRefresh(const std::string& key) const { return refresh_.count(key) > 0; }

  static int priority(const std::string& key);

 private:
  std::map<std::string, std::string> pending_;
  std::map<std::string, std::string> delivered_;
  std::set<std::string> refresh_;  // pending keys that are re-sends, not changes
  std::set<std::string> parked_;   // pending keys whose last write failed
};

}  // namespace guestpulse
