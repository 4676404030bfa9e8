#pragma once
// Writes the agent's state files (health.json, status.json, guest-attributes.json) on a
// thread of its own, so a slow, full or read-only disk never stalls the event loop.
//
// Contract:
//  - write() never blocks on the disk: it records the content and wakes the thread. The
//    latest content of a file wins; an older one not yet written is skipped;
//  - files are written in the order they were asked for: a file already waiting keeps
//    its place when newer content arrives. So when a file is on disk, every file asked
//    for before it is too (health.json before the guest-attribute queue that names the
//    same failure), and a kill at any moment leaves a consistent pair;
//  - a write that fails is tried again every `retry` with the latest content, until it
//    succeeds: when space returns, the file is rewritten without waiting for a change;
//  - each file's trouble is said once per episode: one WARN at the first failure (the
//    error and that the file keeps its previous content), one INFO when it is written
//    again. Failures in between are counted, not logged;
//  - flush() waits, at most `bound`, until nothing is pending; the destructor makes one
//    last attempt at what is pending and joins the thread.
// The episode bookkeeping is the plain type StateFileEpisodes, which tests drive directly.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/core/duration.hpp"

namespace guestpulse {

// Per file: is it failing now, and what to say about a write's outcome. I/O-free.
class StateFileEpisodes {
 public:
  enum class Say { Nothing, Failing, Recovered };
  // Records one attempt; says what to log: the first failure of an episode, or the
  // first success after one.
  Say record(const std::string& path, const std::string& error);
  bool failing(const std::string& path) const;
  std::uint64_t failedAttempts(const std::string& path) const;  // in the current episode

 private:
  struct Episode {
    bool failing = false;
    std::uint64_t failures = 0;
  };
  std::map<std::string, Episode> files_;
};

class StateFileWriter {
 public:
  // The I/O of one write: returns "" or the error (platform::replaceFileAtomically).
  using WriteFn =
      std::function<std::string(const std::string& path, const std::string& content, bool durable)>;

  explicit StateFileWriter(Duration retry = std::chrono::seconds(10), WriteFn write = {});
  ~StateFileWriter();
  StateFileWriter(const StateFileWriter&) = delete;
  StateFileWriter& operator=(const StateFileWriter&) = delete;

  void write(const std::string& path, std::string content, bool durable);
  // Waits until nothing is pending or `bound` passes; true when nothing is pending.
  bool flush(Duration bound);

  std::uint64_t written() const;
  std::uint64_t failures() const;  // failed attempts, all files
  bool failing(const std::string& path) const;

 private:
  struct Pending {
    std::string content;
    bool durable = false;
    bool failed = false;      // the last attempt at this content failed: wait `retry`
    std::uint64_t order = 0;  // when the file was first asked for while not pending
  };
  void loop();
  // Writes one file outside the lock; returns true on success.
  bool attempt(const std::string& path, const Pending& pending);

  Duration retry_;
  WriteFn write_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::map<std::string, Pending> pending_;
  StateFileEpisodes episodes_;
  std::uint64_t written_ = 0;
  std::uint64_t failures_ = 0;
  std::uint64_t nextOrder_ = 0;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace guestpulse
