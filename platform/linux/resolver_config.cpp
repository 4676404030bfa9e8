#include "platform/linux/resolver_config.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "platform/common/host_names.hpp"
#include "platform/common/text_fields.hpp"

namespace guestpulse::platform {

namespace {

// A link-local IPv6 server may carry a zone ("fe80::1%eth0"); the zone does not change
// which server it is for our comparisons.
std::optional<boost::asio::ip::address> parseAddress(std::string_view text) {
  return parseIpAddress(text.substr(0, text.find('%')));
}

// glibc reads the number after "name:" with atoi-like leniency and then caps it; a value
// that is not a number leaves the default in place, which is what we do too.
void applyNumericOption(std::string_view option, std::string_view name, int cap, int& target) {
  std::string_view value = option.substr(name.size());
  int parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end == value.data() || parsed < 0) return;
  target = std::min(parsed, cap);
}

void applyOption(std::string_view option, ResolverConfig& config) {
  if (option.rfind("ndots:", 0) == 0) {
    applyNumericOption(option, "ndots:", 15, config.ndots);
  } else if (option.rfind("timeout:", 0) == 0) {
    applyNumericOption(option, "timeout:", 30, config.timeoutSeconds);
    config.timeoutSeconds = std::max(config.timeoutSeconds, 1);
  } else if (option.rfind("attempts:", 0) == 0) {
    applyNumericOption(option, "attempts:", 5, config.attempts);
    config.attempts = std::max(config.attempts, 1);
  } else if (option == "rotate") {
    config.rotate = true;
  } else {
    config.otherOptions.emplace_back(option);
  }
}

}  // namespace

bool isSystemdResolvedStubAddress(std::string_view address) {
  auto parsed = parseAddress(address);
  if (!parsed || !parsed->is_v4()) return false;
  auto bytes = parsed->to_v4().to_bytes();
  return bytes[0] == 127 && bytes[1] == 0 && bytes[2] == 0 && (bytes[3] == 53 || bytes[3] == 54);
}

bool ResolverConfig::usesSystemdResolvedStub() const {
  return std::any_of(nameservers.begin(), nameservers.end(),
                     [](const std::string& ns) { return isSystemdResolvedStubAddress(ns); });
}

bool ResolverConfig::hasNameserver(std::string_view address) const {
  auto wanted = parseAddress(address);
  if (!wanted) return false;
  return std::any_of(nameservers.begin(), nameservers.end(),
                     [&](const std::string& ns) { return parseAddress(ns) == wanted; });
}

ResolverConfig parseResolverConfig(std::string_view text) {
  ResolverConfig config;
  int lineNumber = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lineNumber;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    auto fields = splitFields(line);
    if (fields.empty()) continue;
    const std::string_view keyword = fields[0];
    const std::string where = "line " + std::to_string(lineNumber) + ": ";
    if (isFieldBlank(line[0])) {  // glibc matches keywords at the very start of the line only
      config.warnings.push_back(where + "'" + std::string(line) +
                                "' is indented; the resolver ignores it");
      continue;
    }

    if (keyword == "nameserver") {
      if (fields.size() < 2 || !parseAddress(fields[1])) {
        config.warnings.push_back(where + "'" + std::string(line) +
                                  "' does not name an IP address; the resolver skips it");
      } else if (static_cast<int>(config.nameservers.size()) < kResolverMaxNameservers) {
        config.nameservers.emplace_back(fields[1]);
      } else {
        config.ignoredNameservers.emplace_back(fields[1]);
        config.warnings.push_back(where + "nameserver " + std::string(fields[1]) +
                                  " is ignored: the resolver uses only the first 3");
      }
    } else if (keyword == "search" || keyword == "domain") {
      config.search.clear();
      // `domain` takes one name; `search` takes the rest of the line. Comments are not
      // recognised mid-line by glibc, but a trailing "# ..." is never a valid domain.
      for (std::size_t i = 1; i < fields.size(); ++i) {
        if (fields[i][0] == '#' || fields[i][0] == ';') break;
        config.search.emplace_back(fields[i]);
        if (keyword == "domain") break;
      }
      // A lone "." means "no search list" (the root domain), as systemd-resolved writes it.
      if (config.search.size() == 1 && config.search[0] == ".") config.search.clear();
    } else if (keyword == "options") {
      for (std::size_t i = 1; i < fields.size(); ++i) applyOption(fields[i], config);
    }
  }
  if (config.nameservers.empty()) {
    config.warnings.push_back(
        "no valid nameserver line: the resolver falls back to a server on this machine "
        "(127.0.0.1)");
  }
  return config;
}

}  // namespace guestpulse::platform
