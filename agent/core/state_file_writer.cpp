#include "agent/core/state_file_writer.hpp"

#include "agent/core/logging.hpp"
#include "platform/files.hpp"

namespace guestpulse {

StateFileEpisodes::Say StateFileEpisodes::record(const std::string& path,
                                                 const std::string& error) {
  Episode& e = files_[path];
  if (error.empty()) {
    bool was = e.failing;
    e = Episode{};
    return was ? Say::Recovered : Say::Nothing;
  }
  ++e.failures;
  if (e.failing) return Say::Nothing;
  e.failing = true;
  return Say::Failing;
}

bool StateFileEpisodes::failing(const std::string& path) const {
  auto it = files_.find(path);
  return it != files_.end() && it->second.failing;
}

std::uint64_t StateFileEpisodes::failedAttempts(const std::string& path) const {
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second.failures;
}

StateFileWriter::StateFileWriter(Duration retry, WriteFn write)
    : retry_(retry), write_(write ? std::move(write) : WriteFn(&platform::replaceFileAtomically)) {
  thread_ = std::thread([this] { loop(); });
}

StateFileWriter::~StateFileWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [path, p] : pending_) p.failed = false;  // one last attempt each
  }
  wake_.notify_all();
  thread_.join();
}

void StateFileWriter::write(const std::string& path, std::string content, bool durable) {
  {
    std::lock_guard lock(mutex_);
    auto [it, added] = pending_.try_emplace(path);
    Pending& p = it->second;
    if (added) p.order = nextOrder_++;
    p.content = std::move(content);
    p.durable = p.durable || durable;  // a durable write still pending stays durable
    p.failed = false;                  // new content: try at once
  }
  wake_.notify_all();
}

bool StateFileWriter::flush(Duration bound) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, bound, [this] {
    if (busy_) return false;
    for (const auto& [path, p] : pending_)
      if (!p.failed) return false;
    return true;
  }) && pending_.empty();
}

std::uint64_t StateFileWriter::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

std::uint64_t StateFileWriter::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

bool StateFileWriter::failing(const std::string& path) const {
  std::lock_guard lock(mutex_);
  return episodes_.failing(path);
}

bool StateFileWriter::attempt(const std::string& path, const Pending& pending) {
  std::string error = write_(path, pending.content, pending.durable);
  std::lock_guard lock(mutex_);
  StateFileEpisodes::Say say = episodes_.record(path, error);
  auto log = logger("state");
  if (error.empty()) {
    ++written_;
    if (say == StateFileEpisodes::Say::Recovered) log->info("{} written again", path);
    return true;
  }
  ++failures_;
  if (say == StateFileEpisodes::Say::Failing)
    log->warn("cannot write {}: {}; it keeps its previous content, retrying every {}", path, error,
              formatDuration(retry_));
  return false;
}

void StateFileWriter::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    // The file asked for first whose latest content has not failed yet goes now; failed
    // ones wait for the retry period (or for newer content).
    auto ready = pending_.end();
    for (auto it = pending_.begin(); it != pending_.end(); ++it)
      if (!it->second.failed && (ready == pending_.end() || it->second.order < ready->second.order))
        ready = it;
    if (ready == pending_.end()) {
      if (stopping_) return;
      idle_.notify_all();
      if (pending_.empty()) {
        wake_.wait(lock);
      } else if (wake_.wait_for(lock, retry_) == std::cv_status::timeout) {
        for (auto& [path, p] : pending_) p.failed = false;
      }
      continue;
    }
    std::string path = ready->first;
    Pending job = ready->second;
    busy_ = true;
    lock.unlock();
    bool ok = attempt(path, job);
    lock.lock();
    busy_ = false;
    auto it = pending_.find(path);
    if (it != pending_.end() && it->second.content == job.content) {
      if (ok)
        pending_.erase(it);
      else
        it->second.failed = true;
    }
    // On stop, one attempt each: a failing disk must not hold the exit.
    if (stopping_ && !ok && it != pending_.end()) pending_.erase(path);
  }
}

}  // namespace guestpulse
