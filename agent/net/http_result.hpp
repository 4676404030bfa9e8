#pragma once
// What an HTTP request did, as plain values: the response, or the step that failed and
// how. Produced by HttpClient (http_client.hpp); read by the diagnosis, which needs no
// client header for it.

#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/core/duration.hpp"

namespace guestpulse {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

enum class HttpStep { None, Resolve, Connect, Handshake, Write, Read };
std::string_view toString(HttpStep step);  // "resolve", "connect", ...

struct HttpResponse {
  int status = 0;
  std::string reason;
  HttpHeaders headers;
  std::string body;
  // A body streamed to HttpRequest::bodySink: how much the sink was given, and whether
  // reading ended early at bodyLimit (truncated) or because the sink asked (stopped).
  std::size_t bodyBytes = 0;
  bool bodyTruncated = false;
  bool bodyStopped = false;
  // Case-insensitive header lookup; nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
};

struct HttpResult {
  std::optional<HttpResponse> response;  // set when a complete response was read
  HttpStep failedStep = HttpStep::None;
  boost::system::error_code error;  // the failure of failedStep
  bool timedOut = false;            // failedStep ran out of time
  std::string peer;                 // address:port connected (or tried last)
  std::vector<std::string> resolvedAddresses;
  Duration elapsed{0};
  // A read that failed after the peer began to answer (failedStep == Read):
  int answerStatus = 0;                         // the status line's code, once the header was read
  std::uint64_t bodyBytes = 0;                  // body bytes read before the failure
  std::optional<std::uint64_t> declaredLength;  // its Content-Length, if it gave one
  std::optional<std::string> location;          // its Location header (a redirect), if any
  // What was wrong with the answer, in words: "the body is larger than the limit of 64 KiB
  // (Content-Length: 209715200)", "the connection closed after 10 of 5000 body bytes".
  // Empty when the failure was not in the answer itself (timeout, reset, refused).
  std::string answerProblem;
  // The peer answered, but not with a response this client accepts (over a limit, bad
  // chunking, a bad Content-Length, not HTTP): something answered, unlike a timeout.
  bool malformed = false;
  // The peer closed the connection in the middle of its answer.
  bool cutShort = false;
  // TLS failures, as the TLS client saw them (agent/diagnosis/tls_failure.hpp reads these):
  std::string tlsDetail;         // one clause for messages: the verify error or the alert
  long tlsVerifyResult = 0;      // the peer chain's X509_V_ERR_* (0 = verified or not checked)
  std::string tlsVerifyText;     // OpenSSL's words for tlsVerifyResult
  bool tlsNameMismatch = false;  // tlsVerifyResult says the certificate is for another name
  int tlsAlert = -1;             // the TLS alert the server ended the session with, or -1
  std::string tlsAlertName;      // its registered name: "certificate required"

  bool ok() const { return response.has_value(); }
  // Fills answerProblem, malformed and cutShort from `error` and the fields above; called
  // by the client after a failed read.
  void classifyReadError(std::size_t bodyLimit, std::size_t headerLimit);
  // "connect to 169.254.169.254:80: Connection refused", "read from ...: timeout after 2s"
  std::string describe(std::string_view target) const;
};

}  // namespace guestpulse
