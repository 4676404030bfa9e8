#include "agent/report/attribute_queue.hpp"

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
    pending_.erase(key);  // the server already shows this value
    return;
  }
  pending_[key] = value;
}

std::optional<std::pair<std::string, std::string>> AttributeQueue::next() const {
  const std::pair<const std::string, std::string>* best = nullptr;
  for (const auto& entry : pending_)
    if (!best || priority(entry.first) < priority(best->first)) best = &entry;
  if (!best) return std::nullopt;
  return std::make_pair(best->first, best->second);
}

void AttributeQueue::delivered(const std::string& key, const std::string& value) {
  delivered_[key] = value;
  auto it = pending_.find(key);
  if (it != pending_.end() && it->second == value) pending_.erase(it);
}

void AttributeQueue::discard(const std::string& key, const std::string& value) {
  auto it = pending_.find(key);
  if (it != pending_.end() && it->second == value) pending_.erase(it);
}

}  // namespace guestpulse
