#include "tests/fake_mds/fault_table.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <stdexcept>
#include <string>
#include <utility>

namespace guestpulse::fake {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool matches(const FaultRule& rule, std::string_view method, std::string_view path) {
  if (!rule.method.empty() && rule.method != method) return false;
  return rule.exactPath ? path == rule.path : path.starts_with(rule.path);
}

const boost::json::value& expectKind(const boost::json::value& v, boost::json::kind kind,
                                     std::string_view key) {
  bool ok = v.kind() == kind || (kind == boost::json::kind::int64 && v.is_uint64());
  if (!ok) throw std::invalid_argument("fault field '" + std::string(key) + "' has the wrong type");
  return v;
}

std::int64_t intField(const boost::json::value& v, std::string_view key) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) return static_cast<std::int64_t>(v.as_uint64());
  if (v.is_double() &&
      v.as_double() == static_cast<double>(static_cast<std::int64_t>(v.as_double())))
    return static_cast<std::int64_t>(v.as_double());
  throw std::invalid_argument("fault field '" + std::string(key) + "' must be an integer");
}

}  // namespace

void validateFaultRule(const FaultRule& rule) {
  if (rule.path.empty() || rule.path.front() != '/')
    throw std::invalid_argument("fault path must start with '/'");
  if (rule.path.starts_with("/_fake"))
    throw std::invalid_argument("fault path must not cover the /_fake/ control API");
  if (rule.status && (*rule.status < 200 || *rule.status > 599))
    throw std::invalid_argument("fault status must be 200..599");
  if (rule.latency.count() < 0) throw std::invalid_argument("fault latency must be >= 0");
  if (rule.count == 0 || rule.count < -1)
    throw std::invalid_argument("fault count must be positive, or -1 for until cleared");
  if (rule.reset && rule.hang) throw std::invalid_argument("fault cannot both reset and hang");
  if ((rule.reset || rule.hang) && rule.status)
    throw std::invalid_argument("fault cannot combine reset/hang with a status");
  if (!rule.status && !rule.reset && !rule.hang && !rule.noFlavor && rule.latency.count() == 0)
    throw std::invalid_argument(
        "fault does nothing: give status, latency_ms, reset, hang or no_flavor");
}

std::string describeFault(const FaultRule& rule) {
  std::string out;
  auto add = [&out](std::string_view part) {
    if (!out.empty()) out += '+';
    out += part;
  };
  if (rule.latency.count() > 0) add("latency");
  if (rule.reset) add("reset");
  if (rule.hang) add("hang");
  if (rule.status) add("status");
  if (rule.noFlavor) add("no_flavor");
  return out;
}

std::uint64_t FaultTable::add(FaultRule rule) {
  validateFaultRule(rule);
  rule.method = upper(rule.method);
  std::function<void()> notify;
  std::uint64_t id;
  {
    std::lock_guard lock(mutex_);
    id = rule.id = nextId_++;
    rules_.push_back(std::move(rule));
    notify = onChange_;
  }
  if (notify) notify();
  return id;
}

bool FaultTable::remove(std::uint64_t id) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    auto it =
        std::find_if(rules_.begin(), rules_.end(), [id](const FaultRule& r) { return r.id == id; });
    if (it == rules_.end()) return false;
    rules_.erase(it);
    notify = onChange_;
  }
  if (notify) notify();
  return true;
}

void FaultTable::clear() {
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    rules_.clear();
    notify = onChange_;
  }
  if (notify) notify();
}

std::vector<FaultRule> FaultTable::list() const {
  std::lock_guard lock(mutex_);
  return rules_;
}

std::optional<FaultRule> FaultTable::take(std::string_view method, std::string_view path) {
  std::lock_guard lock(mutex_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (!matches(*it, method, path)) continue;
    FaultRule used = *it;
    if (it->count > 0 && --it->count == 0) rules_.erase(it);
    return used;
  }
  return std::nullopt;
}

void FaultTable::setOnChange(std::function<void()> onChange) {
  std::lock_guard lock(mutex_);
  onChange_ = std::move(onChange);
}

boost::json::object faultToJson(const FaultRule& rule) {
  boost::json::object o;
  o["id"] = rule.id;
  o["path"] = rule.path;
  o["exact"] = rule.exactPath;
  if (!rule.method.empty()) o["method"] = rule.method;
  if (rule.status) o["status"] = *rule.status;
  if (!rule.body.empty()) o["body"] = rule.body;
  if (rule.latency.count() > 0) o["latency_ms"] = rule.latency.count();
  if (rule.reset) o["reset"] = true;
  if (rule.hang) o["hang"] = true;
  if (rule.noFlavor) o["no_flavor"] = true;
  o["count"] = rule.count;
  return o;
}

FaultRule faultFromJson(const boost::json::value& json) {
  if (!json.is_object()) throw std::invalid_argument("a fault must be a JSON object");
  FaultRule rule;
  for (const auto& [key, v] : json.as_object()) {
    using boost::json::kind;
    if (key == "path") {
      rule.path = expectKind(v, kind::string, key).as_string().c_str();
    } else if (key == "exact") {
      rule.exactPath = expectKind(v, kind::bool_, key).as_bool();
    } else if (key == "method") {
      rule.method = expectKind(v, kind::string, key).as_string().c_str();
    } else if (key == "status") {
      rule.status = static_cast<int>(intField(v, key));
    } else if (key == "body") {
      rule.body = expectKind(v, kind::string, key).as_string().c_str();
    } else if (key == "latency_ms") {
      rule.latency = std::chrono::milliseconds(intField(v, key));
    } else if (key == "reset") {
      rule.reset = expectKind(v, kind::bool_, key).as_bool();
    } else if (key == "hang") {
      rule.hang = expectKind(v, kind::bool_, key).as_bool();
    } else if (key == "no_flavor") {
      rule.noFlavor = expectKind(v, kind::bool_, key).as_bool();
    } else if (key == "count") {
      rule.count = static_cast<int>(intField(v, key));
    } else if (key == "id") {
      // Echoed back from GET /_fake/faults; ids are always assigned anew.
    } else {
      throw std::invalid_argument("unknown fault field '" + std::string(key) + "'");
    }
  }
  validateFaultRule(rule);
  return rule;
}

}  // namespace guestpulse::fake
