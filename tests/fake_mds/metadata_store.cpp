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

std::map<std::string, std::string> defaultMetadata() {
  return {
      {"instance/id", "4520031799277581759"},
      {"instance/name", "guestpulse-test"},
      {"instance/hostname", "guestpulse-test.us-central1-a.c.guestpulse-test.internal"},
      {"instance/zone", "projects/123456789012/zones/us-central1-a"},
      {"instance/machine-type", "projects/123456789012/machineTypes/e2-small"},
      {"instance/cpu-platform", "Intel Broadwell"},
      {"instance/image", "projects/debian-cloud/global/images/debian-12-bookworm-v20251111"},
      {"instance/description", ""},
      {"instance/tags", "[]"},
      {"instance/maintenance-event", "NONE"},
      {"instance/attributes/enable-guest-attributes", "TRUE"},
      {"instance/network-interfaces/0/ip", "10.128.0.2"},
      {"instance/network-interfaces/0/mac", "42:01:0a:80:00:02"},
      {"instance/network-interfaces/0/mtu", "1460"},
      {"instance/network-interfaces/0/network", "projects/123456789012/networks/default"},
      {"instance/network-interfaces/0/subnetmask", "255.255.240.0"},
      {"instance/network-interfaces/0/gateway", "10.128.0.1"},
      {"instance/network-interfaces/0/dns-servers", "169.254.169.254"},
      {"instance/service-accounts/default/email",
       "123456789012-compute@developer.gserviceaccount.com"},
      {"instance/service-accounts/default/aliases", "default"},
      {"instance/service-accounts/default/scopes",
       "https://www.googleapis.com/auth/cloud-platform\n"},
      {"project/project-id", "guestpulse-test"},
      {"project/numeric-project-id", "123456789012"},
      {"project/attributes/enable-oslogin", "TRUE"},
  };
}

std::string normalizeMetadataPath(std::string_view path) {
  constexpr std::string_view kRoot = "/computeMetadata/v1/";
  if (path.starts_with(kRoot)) {
    path.remove_prefix(kRoot.size());
  } else {
    while (path.starts_with('/')) path.remove_prefix(1);
  }
  return std::string(path);
}

MetadataStore::MetadataStore() {
  tree_.values = defaultMetadata();
  tree_.fixedDirs = {"instance/", "instance/attributes/", "instance/guest-attributes/", "project/",
                     "project/attributes/"};
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
