#pragma once
// The metadata values the fake serves, as a flat map from a path relative to
// /computeMetadata/v1/ ("instance/id", "instance/guest-attributes/ns/key") to its value.
// Directories are implied by the paths beneath them; a few (instance/, project/, their
// attributes/ and instance/guest-attributes/) always exist, empty or not, as in GCE.
//
// MetadataTree is a plain snapshot with the lookup rules; MetadataStore is the shared,
// thread-safe owner that hands out snapshots and reports every change.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace guestpulse::fake {

struct MetadataTree {
  std::map<std::string, std::string> values;
  std::set<std::string> fixedDirs;  // "instance/", ... ("" is the root and always exists)

  const std::string* leaf(const std::string& path) const;
  // `dir` is "" or ends with '/'.
  bool isDirectory(const std::string& dir) const;
  // Immediate children of `dir`, sorted: "name" for a value, "name/" for a directory.
  std::vector<std::string> children(const std::string& dir) const;
};

class MetadataStore {
 public:
  MetadataStore() = default;
  MetadataStore(std::map<std::string, std::string> values, std::set<std::string> fixedDirs);

  MetadataTree snapshot() const;
  std::optional<std::string> get(const std::string& path) const;
  std::map<std::string, std::string> all() const;
  std::map<std::string, std::string> withPrefix(const std::string& prefix) const;

  // `path` must be normalized, non-empty and not end in '/'.
  void set(const std::string& path, std::string value);
  bool remove(const std::string& path);

  // Called after every change, outside the lock, on the thread that made it.
  void setOnChange(std::function<void()> onChange);

 private:
  mutable std::mutex mutex_;
  MetadataTree tree_;
  std::function<void()> onChange_;
};

}  // namespace guestpulse::fake
