#include "platform/windows/winhttp_proxy.hpp"

#include <cctype>
#include <string>
#include <vector>

namespace guestpulse::platform::win {

namespace {

std::vector<std::string> tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (c == ';' || c == ' ' || c == '\t' || c == ',') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string withScheme(const std::string& proxy) {
  return proxy.find("://") == std::string::npos ? "http://" + proxy : proxy;
}

// "10.*" → "10.0.0.0/8", "169.254.*.*" → "169.254.0.0/16"; "" when not that shape.
std::string wildcardBlock(const std::string& entry) {
  std::vector<std::string> octets;
  std::size_t start = 0;
  while (start <= entry.size()) {
    std::size_t dot = entry.find('.', start);
    if (dot == std::string::npos) dot = entry.size();
    octets.push_back(entry.substr(start, dot - start));
    start = dot + 1;
  }
  if (octets.size() > 4) return {};
  std::size_t fixed = 0;
  while (fixed < octets.size() && octets[fixed] != "*") {
    const std::string& o = octets[fixed];
    if (o.empty() || o.size() > 3) return {};
    for (char c : o)
      if (!std::isdigit(static_cast<unsigned char>(c))) return {};
    if (std::stoi(o) > 255) return {};
    ++fixed;
  }
  if (fixed == 0 || fixed == octets.size()) return {};
  for (std::size_t i = fixed; i < octets.size(); ++i)
    if (octets[i] != "*") return {};
  std::string block;
  for (std::size_t i = 0; i < 4; ++i) block += (i ? "." : "") + (i < fixed ? octets[i] : "0");
  return block + "/" + std::to_string(fixed * 8);
}

}  // namespace

EnvironmentMap translateWinHttpProxy(std::string_view proxyList, std::string_view bypassList) {
  EnvironmentMap variables;
  for (const std::string& entry : tokens(proxyList)) {
    auto equals = entry.find('=');
    if (equals == std::string::npos) {
      // One proxy for every scheme; the first such entry wins, as in WinHTTP.
      variables.emplace("http_proxy", withScheme(entry));
      variables.emplace("https_proxy", withScheme(entry));
      continue;
    }
    std::string scheme = lower(entry.substr(0, equals));
    std::string proxy = entry.substr(equals + 1);
    if (proxy.empty()) continue;
    if (scheme == "http" || scheme == "https") variables[scheme + "_proxy"] = withScheme(proxy);
  }
  if (variables.empty()) return variables;

  std::string noProxy;
  for (const std::string& raw : tokens(bypassList)) {
    std::string entry = lower(raw);
    if (entry == "<local>") continue;
    if (entry.rfind("*.", 0) == 0) {
      entry = entry.substr(2);
    } else if (std::string block = wildcardBlock(entry); !block.empty()) {
      entry = block;
    }
    if (auto scheme = entry.find("://"); scheme != std::string::npos)
      entry = entry.substr(scheme + 3);
    if (entry.empty()) continue;
    noProxy += (noProxy.empty() ? "" : ",") + entry;
  }
  if (!noProxy.empty()) variables["no_proxy"] = noProxy;
  return variables;
}

}  // namespace guestpulse::platform::win
