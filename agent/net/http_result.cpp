#include "agent/net/http_result.hpp"

#include <algorithm>
#include <cctype>

#include <boost/beast/http/error.hpp>

#include "agent/core/text.hpp"

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

namespace {

std::string bytesText(std::uint64_t bytes) {
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

void HttpResult::classifyReadError(std::size_t bodyLimit, std::size_t headerLimit) {
  namespace http = boost::beast::http;
  if (error.category() != http::make_error_code(http::error::body_limit).category()) return;
  std::string status = answerStatus ? "HTTP " + std::to_string(answerStatus) + ", " : "";
  std::string length = declaredLength ? "Content-Length: " + std::to_string(*declaredLength) : "";
  auto withStatus = [&](std::string text, const std::string& more) {
    std::string inner = status + more;
    if (inner.size() >= 2 && inner.ends_with(", ")) inner.resize(inner.size() - 2);
    return inner.empty() ? text : text + " (" + inner + ")";
  };
  switch (static_cast<http::error>(error.value())) {
    case http::error::end_of_stream:
      return;  // closed before answering: a transport failure, not a bad answer
    case http::error::partial_message:
      cutShort = true;
      if (answerStatus == 0) {
        answerProblem = "the connection closed in the middle of the answer's header";
      } else if (declaredLength) {
        answerProblem = withStatus("the connection closed after " + std::to_string(bodyBytes) +
                                       " of " + std::to_string(*declaredLength) + " body bytes",
                                   "");
      } else {
        answerProblem = withStatus("the connection closed in the middle of the body, after " +
                                       std::to_string(bodyBytes) + " bytes",
                                   "");
      }
      return;
    case http::error::body_limit:
      answerProblem =
          withStatus("the body is larger than the limit of " + bytesText(bodyLimit), length);
      break;
    case http::error::header_limit:
      answerProblem = "the header is larger than the limit of " + bytesText(headerLimit);
      break;
    case http::error::bad_chunk:
    case http::error::bad_chunk_extension:
      answerProblem = withStatus("bad chunked encoding", "");
      break;
    case http::error::bad_content_length:
      answerProblem = "a bad Content-Length header";
      break;
    case http::error::bad_transfer_encoding:
      answerProblem = "a bad Transfer-Encoding header";
      break;
    default:
      answerProblem = "not valid HTTP (" + error.message() + ")";
  }
  malformed = true;
}

std::string HttpResult::describe(std::string_view target) const {
  if (response) {
    std::string text = std::string(target) + ": HTTP " + std::to_string(response->status);
    if (response->status >= 300 && response->status < 400)
      if (auto to = response->header("Location"))
        text += " (redirect to '" + quoteOutside(*to) + "', not followed)";
    return text;
  }
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
  std::string what = timedOut                 ? "timeout after " + formatDuration(elapsed)
                     : !answerProblem.empty() ? answerProblem
                                              : error.message();
  if (!tlsDetail.empty()) what += " (" + tlsDetail + ")";
  return where + ": " + what;
}

}  // namespace guestpulse
