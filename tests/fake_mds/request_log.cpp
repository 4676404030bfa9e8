#include "tests/fake_mds/request_log.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include "tests/fake_mds/exchange.hpp"

namespace guestpulse::fake {
namespace {

constexpr std::size_t kMaxLoggedBody = 1024;

// The log is served as JSON, so a body cut at 1 KiB (or binary to begin with) is reduced
// to valid UTF-8: a truncated trailing sequence is dropped, other invalid bytes become '?'.
std::string loggableBody(std::string_view body) {
  std::string out;
  std::size_t limit = std::min(body.size(), kMaxLoggedBody);
  for (std::size_t i = 0; i < limit;) {
    auto c = static_cast<unsigned char>(body[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
    bool valid = len > 0 && i + len <= body.size();
    for (std::size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(body[i + k]) & 0xC0) == 0x80;
    if (!valid) {
      out.push_back('?');
      ++i;
      continue;
    }
    if (i + len > limit) break;
    out.append(body.substr(i, len));
    i += len;
  }
  return out;
}

double msBetween(std::chrono::steady_clock::time_point from,
                 std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

RequestLog::RequestLog(std::size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity), epoch_(std::chrono::steady_clock::now()) {}

void RequestLog::setEpoch(std::chrono::steady_clock::time_point epoch) {
  std::lock_guard lock(mutex_);
  epoch_ = epoch;
}

std::uint64_t RequestLog::begin(RequestRecord partial, std::chrono::steady_clock::time_point now) {
  partial.body = loggableBody(partial.body);
  std::function<void()> notify;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    seq = partial.seq = nextSeq_++;
    partial.tMs = msBetween(epoch_, now);
    // The wall time is derived from the same instant so that t_ms and wall agree.
    partial.wall = rfc3339Millis(std::chrono::system_clock::now() -
                                 std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                     std::chrono::steady_clock::now() - now));
    partial.status = 0;
    partial.durationMs = 0;
    records_.push_back(std::move(partial));
    while (records_.size() > capacity_) records_.pop_front();
    notify = onChange_;
  }
  if (notify) notify();
  return seq;
}

RequestRecord* RequestLog::findLocked(std::uint64_t seq) {
  if (records_.empty() || seq < records_.front().seq || seq > records_.back().seq) return nullptr;
  // Sequence numbers are contiguous inside the deque: clear() empties it entirely and
  // trimming only ever removes from the front.
  RequestRecord& r = records_[seq - records_.front().seq];
  return r.seq == seq ? &r : nullptr;
}

std::optional<RequestRecord> RequestLog::finish(std::uint64_t seq, int status,
                                                std::chrono::steady_clock::time_point now,
                                                int ipTtl) {
  std::function<void()> notify;
  std::optional<RequestRecord> out;
  {
    std::lock_guard lock(mutex_);
    RequestRecord* r = findLocked(seq);
    if (r == nullptr) return std::nullopt;
    r->status = status;
    r->ipTtl = ipTtl;
    r->durationMs = msBetween(epoch_, now) - r->tMs;
    out = *r;
    notify = onChange_;
  }
  if (notify) notify();
  return out;
}

std::vector<RequestRecord> RequestLog::list(std::uint64_t afterSeq) const {
  std::lock_guard lock(mutex_);
  std::vector<RequestRecord> out;
  for (const RequestRecord& r : records_) {
    if (r.seq > afterSeq) out.push_back(r);
  }
  return out;
}

void RequestLog::clear() {
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    records_.clear();
    notify = onChange_;
  }
  if (notify) notify();
}

void RequestLog::setOnChange(std::function<void()> onChange) {
  std::lock_guard lock(mutex_);
  onChange_ = std::move(onChange);
}

std::string requestsToJson(const std::vector<RequestRecord>& records) {
  // Written by hand rather than through boost::json::value because Boost.JSON prints
  // doubles in exponent form (5.68E2), which is valid but hostile to people and shell
  // scripts reading the log.
  auto str = [](const std::string& s) { return boost::json::serialize(boost::json::string(s)); };
  auto ms = [](double v) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return std::string(buf);
  };
  std::string out = "[";
  for (const RequestRecord& r : records) {
    if (out.size() > 1) out += ",\n";
    out += "{\"seq\":" + std::to_string(r.seq) + ",\"t_ms\":" + ms(r.tMs) +
           ",\"wall\":" + str(r.wall) + ",\"method\":" + str(r.method) +
           ",\"target\":" + str(r.target) + ",\"status\":" + std::to_string(r.status) +
           ",\"flavor\":" + (r.flavor ? "true" : "false") + ",\"body\":" + str(r.body) +
           ",\"fault\":" + str(r.fault) + ",\"duration_ms\":" + ms(r.durationMs);
    if (r.ipTtl > 0) out += ",\"ip_ttl\":" + std::to_string(r.ipTtl);
    out += "}";
  }
  out += "]\n";
  return out;
}

}  // namespace guestpulse::fake
