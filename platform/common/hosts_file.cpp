#include "platform/common/hosts_file.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <optional>

#include "platform/common/host_names.hpp"
#include "platform/common/text_fields.hpp"

namespace guestpulse::platform {

HostsFile HostsFile::parse(std::string_view text) {
  HostsFile hosts;
  int lineNumber = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    ++lineNumber;
    pos = end + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);  // a file edited on Windows

    std::string_view content = raw.substr(0, raw.find('#'));
    auto fields = splitFields(content);
    if (fields.empty()) {
      if (end == text.size()) break;
      continue;
    }
    if (!parseIpAddress(fields[0])) {
      hosts.invalidLines_.push_back(
          {lineNumber, std::string(raw), "'" + std::string(fields[0]) + "' is not an IP address"});
    } else if (fields.size() == 1) {
      hosts.invalidLines_.push_back(
          {lineNumber, std::string(raw), "address " + std::string(fields[0]) + " has no name"});
    } else {
      HostsEntry entry{lineNumber, std::string(fields[0]), {}, std::string(raw)};
      for (std::size_t i = 1; i < fields.size(); ++i) entry.names.emplace_back(fields[i]);
      hosts.entries_.push_back(std::move(entry));
    }
    if (end == text.size()) break;
  }
  return hosts;
}

std::vector<HostsEntry> HostsFile::entriesFor(std::string_view name) const {
  const std::string wanted = normalizeHostName(name);
  std::vector<HostsEntry> found;
  if (wanted.empty()) return found;
  for (const auto& entry : entries_) {
    bool listed = std::any_of(entry.names.begin(), entry.names.end(),
                              [&](const std::string& n) { return normalizeHostName(n) == wanted; });
    if (listed) found.push_back(entry);
  }
  return found;
}

std::vector<std::string> HostsFile::addressesFor(std::string_view name) const {
  std::vector<std::string> addresses;
  std::vector<boost::asio::ip::address> seen;
  for (const auto& entry : entriesFor(name)) {
    auto address = parseIpAddress(entry.address);
    if (!address || std::find(seen.begin(), seen.end(), *address) != seen.end()) continue;
    seen.push_back(*address);
    addresses.push_back(entry.address);
  }
  return addresses;
}

std::vector<HostsEntry> HostsFile::entriesForAddress(std::string_view address) const {
  std::vector<HostsEntry> found;
  auto wanted = parseIpAddress(address);
  if (!wanted) return found;
  for (const auto& entry : entries_) {
    if (parseIpAddress(entry.address) == wanted) found.push_back(entry);
  }
  return found;
}

}  // namespace guestpulse::platform
