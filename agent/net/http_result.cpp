#include "agent/net/http_result.hpp"

#include <algorithm>
#include <cctype>

namespace guestpulse {

std::string_view toString(HttpStep step) {
  switch (step) {
    case HttpStep::None:
      return "none";
    case HttpStep::Resolve:
      return "resolve";
    case HttpStep::Connect:
      return "connect";
    case HttpStep::Handshake:
      return "TLS handshake";
    case HttpStep::Write:
      return "send request";
    case HttpStep::Read:
      return "read response";
  }
  return "?";
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  auto lower = [](std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
  };
  std::string wanted = lower(name);
  for (const auto& [key, value] : headers)
    if (lower(key) == wanted) return value;
  return std::nullopt;
}

std::string HttpResult::describe(std::string_view target) const {
  if (response) return std::string(target) + ": HTTP " + std::to_string(response->status);
  std::string where;
  switch (failedStep) {
    case HttpStep::Resolve:
      where = "resolve " + std::string(target);
      break;
    case HttpStep::Connect:
      where = "connect to " + (peer.empty() ? std::string(target) : peer);
      break;
    case HttpStep::Handshake:
      where = "TLS handshake with " + (peer.empty() ? std::string(target) : peer);
      break;
    case HttpStep::Write:
      where = "send request to " + peer;
      break;
    case HttpStep::Read:
      where = "read response from " + peer;
      break;
    case HttpStep::None:
      where = std::string(target);
      break;
  }
  std::string what = timedOut ? "timeout after " + formatDuration(elapsed) : error.message();
  if (!tlsDetail.empty()) what += " (" + tlsDetail + ")";
  return where + ": " + what;
}

}  // namespace guestpulse
