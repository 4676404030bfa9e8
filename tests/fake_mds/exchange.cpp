#include "tests/fake_mds/exchange.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace guestpulse::fake {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Query values may be percent-encoded by clients (last_etag never is, but URL builders
// encode whatever they are given); a broken escape is kept literally rather than
// rejected, which is what lenient servers do.
std::string percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i] == '+' ? ' ' : in[i]);
  }
  return out;
}

std::tm utcTm(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
#ifdef _WIN32
  gmtime_s(&tm, &secs);
#else
  gmtime_r(&secs, &tm);
#endif
  return tm;
}

constexpr std::string_view kApostrophe = "\xE2\x80\x99";  // GCE's pages use U+2019

}  // namespace

bool Target::flag(const std::string& name) const {
  const std::string* v = param(name);
  if (v == nullptr) return false;
  std::string lower;
  for (char c : *v) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower == "true" || lower == "1";
}

const std::string* Target::param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? nullptr : &it->second;
}

const std::string* Request::header(const std::string& lowerName) const {
  auto it = headers.find(lowerName);
  return it == headers.end() ? nullptr : &it->second;
}

Target parseTarget(std::string_view target) {
  Target out;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    std::size_t authority = target.find("//") + 2;
    std::size_t slash = target.find_first_of("/?", authority);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  std::size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (out.path.empty()) out.path = "/";
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string key = percentDecode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1));
    out.query[std::move(key)] = std::move(value);
  }
  return out;
}

std::string etagOf(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string rfc3339Millis(std::chrono::system_clock::time_point t) {
  std::tm tm = utcTm(t);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  if (ms < 0) ms += 1000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string httpDate(std::chrono::system_clock::time_point t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = utcTm(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Request Entity Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "Unknown";
  }
}

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Reply googleErrorPage(int status, std::string_view message) {
  std::string code = std::to_string(status);
  Reply r;
  r.status = status;
  r.contentType = "text/html; charset=UTF-8";
  r.body.reserve(512 + message.size());
  r.body += "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n";
  r.body +=
      "  <meta name=viewport content=\"initial-scale=1, minimum-scale=1, "
      "width=device-width\">\n";
  r.body += "  <title>Error " + code + " (" + std::string(reasonPhrase(status)) + ")!!1</title>\n";
  r.body +=
      "  <p><b>" + code + ".</b> <ins>That" + std::string(kApostrophe) + "s an error.</ins>\n";
  r.body += "  <p>" + std::string(message) + "  <ins>That" + std::string(kApostrophe) +
            "s all we know.</ins>\n";
  return r;
}

Reply notFoundPage(std::string_view path) {
  return googleErrorPage(
      404, "The requested URL <code>" + htmlEscape(path) + "</code> was not found on this server.");
}

Reply badRequestPage() {
  return googleErrorPage(400, "Your client has issued a malformed or illegal request.");
}

Reply methodNotAllowedPage(std::string_view method, std::string_view path) {
  return googleErrorPage(405, "The request method <code>" + htmlEscape(method) +
                                  "</code> is inappropriate for the URL <code>" + htmlEscape(path) +
                                  "</code>.");
}

}  // namespace guestpulse::fake
