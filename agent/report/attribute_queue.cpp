#include "agent/report/attribute_queue.hpp"

#include <tuple>

namespace guestpulse {

int AttributeQueue::priority(const std::string& key) {
  if (key == "status") return 0;
  if (key == "last-failure") return 1;
  if (key.starts_with("probe-")) return 2;
  if (key == "heartbeat") return 4;
  return 3;
}

void AttributeQueue::set(const std::string& key, const std::string& value) {
  auto sent = delivered_.find(key);
  if (sent != delivered_.end() && sent->second == value) {
    if (!refresh_.count(key)) {  // the server already shows this value
      pending_.erase(key);
      parked_.erase(key);
    }
    return;
  }
  auto it = pending_.find(key);
  if (it == pending_.end() || it->second != value) parked_.erase(key);
  pending_[key] = value;
  refresh_.erase(key);
}

void AttributeQueue::refresh(const std::string& key, const std::string& value) {
  auto it = pending_.find(key);
  if (it != pending_.end() && !refresh_.count(key)) return;  // a real change is pending
  if (it != pending_.end() && it->second != value) parked_.erase(key);
  pending_[key] = value;
  refresh_.insert(key);
}

std::optional<std::pair<std::string, std::string>> AttributeQueue::next() const {
  const std::pair<const std::string, std::string>* best = nullptr;
  auto rank = [this](const std::string& key) {
    return std::make_tuple(parked_.count(key) ? 1 : 0, refresh_.count(key) ? 1 : 0, priority(key));
  };
  for (const auto& entry : pending_)
    if (!best || rank(entry.first) < rank(best->first)) best = &entry;
  if (!best) return std::nullopt;
  return std::make_pair(best->first, best->second);
}

void AttributeQueue::delivered(const std::string& key, const std::string& value) {
  delivered_[key] = value;
  auto it = pending_.find(key);
  if (it != pending_.end() && it->second == value) {
    pending_.erase(it);
    refresh_.erase(key);
    parked_.erase(key);
  }
}

void AttributeQueue::discard(const std::string& key, const std::string& value) {
  auto it = pending_.find(key);
  if (it != pending_.end() && it->second == value) {
    pending_.erase(it);
    refresh_.erase(key);
    parked_.erase(key);
  }
}

void AttributeQueue::park(const std::string& key) {
  if (pending_.count(key)) parked_.insert(key);
}

}  // namespace guestpulse
