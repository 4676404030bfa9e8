#pragma once
// Transport-free view of one HTTP exchange, shared by the metadata and control handlers
// (which never see Beast or a socket) and the session that drives them, plus the small
// text helpers both sides need: target parsing, ETags, timestamps and Google's pages.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace guestpulse::fake {

// The target split into path and decoded query parameters. An absolute-form target
// ("http://host/path?q", as sent through a proxy) is reduced to its path and query.
struct Target {
  std::string path;
  std::map<std::string, std::string> query;

  bool flag(const std::string& name) const;  // "true" (any case) or "1"
  const std::string* param(const std::string& name) const;
};
Target parseTarget(std::string_view target);

struct Request {
  std::string method;  // upper case as sent
  std::string rawTarget;
  Target target;
  std::string body;
  std::string host;        // Host header, may be empty
  bool flavor = false;     // Metadata-Flavor: Google (exact value)
  bool forwarded = false;  // carried X-Forwarded-For
  // Every header, names lower-cased; the first of repeated names wins.
  std::map<std::string, std::string> headers;

  const std::string* header(const std::string& lowerName) const;
};

struct Reply {
  int status = 200;
  std::string contentType = "application/text";
  std::string body;
  std::string etag;             // empty: computed from body when the headers are written
  bool metadataHeaders = true;  // GCE's: Metadata-Flavor, Server, ETag, X-XSS-..., X-Frame-...
  std::string server;           // a Server header when metadataHeaders is off (EC2: "EC2ws")
  int ipTtl = 0;                // > 0: send this answer (and the rest of the connection) with
                                // this IP TTL / hop limit, as EC2 does for its token answers
  bool close = false;
  std::vector<std::pair<std::string, std::string>> extraHeaders;  // e.g. Location
};

// Hex FNV-1a 64 of the text: stable across runs and builds, 16 digits like GCE's ETags.
std::string etagOf(std::string_view text);

// "2026-11-22T22:00:00.123Z"
std::string rfc3339Millis(std::chrono::system_clock::time_point t);
// "Sun, 22 Nov 2026 22:00:00 GMT" (the Date header)
std::string httpDate(std::chrono::system_clock::time_point t);

std::string_view reasonPhrase(int status);

// A Google front-end style error page: "<!DOCTYPE html>... Error 404 (Not Found)!!1 ...".
// `message` is HTML already; use htmlEscape for anything taken from the request.
Reply googleErrorPage(int status, std::string_view message);
std::string htmlEscape(std::string_view text);

// The messages GCE puts in its common error pages.
Reply notFoundPage(std::string_view path);
Reply badRequestPage();
Reply methodNotAllowedPage(std::string_view method, std::string_view path);

}  // namespace guestpulse::fake
