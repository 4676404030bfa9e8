#include "tests/fake_mds/metadata_store.hpp"

#include <utility>

namespace guestpulse::fake {

const std::string* MetadataTree::leaf(const std::string& path) const {
  auto it = values.find(path);
  return it == values.end() ? nullptr : &it->second;
}

bool MetadataTree::isDirectory(const std::string& dir) const {
  if (dir.empty() || fixedDirs.contains(dir)) return true;
  auto it = values.lower_bound(dir);
  return it != values.end() && it->first.starts_with(dir);
}

std::vector<std::string> MetadataTree::children(const std::string& dir) const {
  std::set<std::string> names;
  for (auto it = values.lower_bound(dir); it != values.end() && it->first.starts_with(dir); ++it) {
    std::string_view rest = std::string_view(it->first).substr(dir.size());
    std::size_t slash = rest.find('/');
    names.insert(std::string(slash == std::string_view::npos ? rest : rest.substr(0, slash + 1)));
  }
  // Fixed directories are listed even while empty, as GCE lists attributes/ with no keys.
  for (const std::string& fixed : fixedDirs) {
    if (fixed.size() > dir.size() && fixed.starts_with(dir)) {
      std::string_view rest = std::string_view(fixed).substr(dir.size());
      std::size_t slash = rest.find('/');
      names.insert(std::string(rest.substr(0, slash + 1)));
    }
  }
  return {names.begin(), names.end()};
}

MetadataStore::MetadataStore(std::map<std::string, std::string> values,
                             std::set<std::string> fixedDirs) {
  tree_.values = std::move(values);
  tree_.fixedDirs = std::move(fixedDirs);
}

MetadataTree MetadataStore::snapshot() const {
  std::lock_guard lock(mutex_);
  return tree_;
}

std::optional<std::string> MetadataStore::get(const std::string& path) const {
  std::lock_guard lock(mutex_);
  const std::string* v = tree_.leaf(path);
  return v ? std::optional<std::string>(*v) : std::nullopt;
}

std::map<std::string, std::string> MetadataStore::all() const {
  std::lock_guard lock(mutex_);
  return tree_.values;
}

std::map<std::string, std::string> MetadataStore::withPrefix(const std::string& prefix) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::string> out;
  for (auto it = tree_.values.lower_bound(prefix);
       it != tree_.values.end() && it->first.starts_with(prefix); ++it) {
    out.emplace(it->first.substr(prefix.size()), it->second);
  }
  return out;
}

void MetadataStore::set(const std::string& path, std::string value) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    tree_.values[path] = std::move(value);
    notify = onChange_;
  }
  if (notify) notify();
}

bool MetadataStore::remove(const std::string& path) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    if (tree_.values.erase(path) == 0) return false;
    notify = onChange_;
  }
  if (notify) notify();
  return true;
}

void MetadataStore::setOnChange(std::function<void()> onChange) {
  std::lock_guard lock(mutex_);
  onChange_ = std::move(onChange);
}

}  // namespace guestpulse::fake
