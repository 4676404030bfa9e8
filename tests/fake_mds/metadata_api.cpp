#include "tests/fake_mds/metadata_api.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>

namespace guestpulse::fake {
namespace {

constexpr std::string_view kV1 = "/computeMetadata/v1/";
constexpr std::string_view kGuestAttributes = "instance/guest-attributes/";

Reply withEtag(Reply r) {
  if (r.etag.empty()) r.etag = etagOf(r.body);
  return r;
}

Reply text(std::string body) {
  Reply r;
  r.body = std::move(body);
  return withEtag(std::move(r));
}

Reply json(const boost::json::value& value) {
  Reply r;
  r.contentType = "application/json";
  r.body = boost::json::serialize(value);
  return withEtag(std::move(r));
}

Reply forbidden(std::string_view path, std::string_view why) {
  return withEtag(googleErrorPage(403, "Your client does not have permission to get URL <code>" +
                                           htmlEscape(path) + "</code> from this server. " +
                                           std::string(why)));
}

// GCE redirects a directory named without its trailing slash, with the classic
// front-end "301 Moved" page and an absolute Location built from the Host header.
Reply redirect(const Request& request, const std::string& location) {
  std::string host = request.host.empty() ? "metadata.google.internal" : request.host;
  std::string query;
  if (std::size_t q = request.rawTarget.find('?'); q != std::string::npos)
    query = request.rawTarget.substr(q);
  std::string url = "http://" + host + location + query;
  Reply r;
  r.status = 301;
  r.contentType = "text/html; charset=UTF-8";
  r.body =
      "<HTML><HEAD><meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n"
      "<TITLE>301 Moved</TITLE></HEAD><BODY>\n<H1>301 Moved</H1>\nThe document has moved\n"
      "<A HREF=\"" +
      htmlEscape(url) + "\">here</A>.\r\n</BODY></HTML>\r\n";
  r.extraHeaders.emplace_back("Location", std::move(url));
  return withEtag(std::move(r));
}

// Guest attributes are a separate service in GCE: reachable by path, but not part of
// the instance/ listing or its recursive JSON.
std::vector<std::string> visibleChildren(const MetadataTree& tree, const std::string& dir) {
  std::vector<std::string> children = tree.children(dir);
  if (dir == "instance/") std::erase(children, std::string("guest-attributes/"));
  return children;
}

std::optional<long> parseSeconds(const std::string& s) {
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

bool isNumber(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// GCE's recursive JSON spells keys in lowerCamelCase ("machine-type" → "machineType")
// except user-defined keys beneath attributes/ and guest attributes.
std::string camelCase(std::string_view name) {
  std::string out;
  bool up = false;
  for (char c : name) {
    if (c == '-') {
      up = true;
      continue;
    }
    out.push_back(up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    up = false;
  }
  return out;
}

bool keepsNames(std::string_view dir) {
  // true when any component of dir is attributes or guest-attributes
  while (!dir.empty()) {
    std::size_t slash = dir.find('/');
    std::string_view part = dir.substr(0, slash);
    if (part == "attributes" || part == "guest-attributes") return true;
    if (slash == std::string_view::npos) break;
    dir.remove_prefix(slash + 1);
  }
  return false;
}

boost::json::value subtreeJson(const MetadataTree& tree, const std::string& dir) {
  std::vector<std::string> children = visibleChildren(tree, dir);
  bool keep = keepsNames(dir);
  // network-interfaces/0/, 1/ ... become a JSON array, as in GCE.
  bool array =
      !children.empty() && std::all_of(children.begin(), children.end(), [](const std::string& c) {
        return c.ends_with('/') && isNumber(std::string_view(c).substr(0, c.size() - 1));
      });
  if (array) {
    std::sort(children.begin(), children.end(), [](const std::string& a, const std::string& b) {
      return std::stol(a) < std::stol(b);
    });
    boost::json::array out;
    for (const std::string& c : children) out.push_back(subtreeJson(tree, dir + c));
    return out;
  }
  boost::json::object out;
  for (const std::string& c : children) {
    bool isDir = c.ends_with('/');
    std::string name = isDir ? c.substr(0, c.size() - 1) : c;
    std::string key = keep ? name : camelCase(name);
    if (isDir) {
      out[key] = subtreeJson(tree, dir + c);
    } else {
      out[key] = *tree.leaf(dir + c);
    }
  }
  return out;
}

bool validAttributeName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

MetadataApi::MetadataApi(MetadataStore& store) : store_(store) {}

Reply MetadataApi::handle(const Request& request) const {
  const std::string& path = request.target.path;
  bool read = request.method == "GET" || request.method == "HEAD";
  if (path == "/") {
    if (!read) return withEtag(methodNotAllowedPage(request.method, path));
    return text("computeMetadata/\n");
  }
  if (!path.starts_with("/computeMetadata")) return withEtag(notFoundPage(path));
  if (request.forwarded) return forbidden(path, "Request had an X-Forwarded-For header.");
  if (!request.flavor) return forbidden(path, "Missing Metadata-Flavor:Google header.");
  if (path == "/computeMetadata") return redirect(request, "/computeMetadata/");
  if (path == "/computeMetadata/") {
    if (!read) return withEtag(methodNotAllowedPage(request.method, path));
    return text("v1/\n");
  }
  if (path == "/computeMetadata/v1") return redirect(request, std::string(kV1));
  if (!path.starts_with(kV1)) return withEtag(notFoundPage(path));
  if (request.target.flag("wait_for_change")) {
    const std::string* timeout = request.target.param("timeout_sec");
    if (timeout != nullptr && !parseSeconds(*timeout)) return withEtag(badRequestPage());
  }
  std::string rel = path.substr(kV1.size());
  if (read) return this->read(request, rel);
  if ((request.method == "PUT" || request.method == "DELETE") && rel.starts_with(kGuestAttributes))
    return writeGuestAttribute(request, rel);
  return withEtag(methodNotAllowedPage(request.method, path));
}

Reply MetadataApi::read(const Request& request, const std::string& rel) const {
  MetadataTree tree = store_.snapshot();
  const Target& target = request.target;
  bool wantsJson = target.param("alt") != nullptr && *target.param("alt") == "json";
  if (rel.empty() || rel.ends_with('/')) {
    if (!tree.isDirectory(rel)) return withEtag(notFoundPage(target.path));
    if (target.flag("recursive")) return json(subtreeJson(tree, rel));
    std::vector<std::string> children = visibleChildren(tree, rel);
    if (wantsJson) {
      boost::json::array a;
      for (const std::string& c : children) a.emplace_back(c);
      return json(a);
    }
    std::string body;
    for (const std::string& c : children) body += c + "\n";
    return text(std::move(body));
  }
  if (const std::string* value = tree.leaf(rel)) {
    if (wantsJson) return json(boost::json::value(*value));
    return text(*value);
  }
  if (tree.isDirectory(rel + "/")) return redirect(request, target.path + "/");
  return withEtag(notFoundPage(target.path));
}

Reply MetadataApi::writeGuestAttribute(const Request& request, const std::string& rel) const {
  std::string_view rest = std::string_view(rel).substr(kGuestAttributes.size());
  std::size_t slash = rest.find('/');
  bool shaped =
      slash != std::string_view::npos && rest.find('/', slash + 1) == std::string_view::npos;
  if (!shaped || !validAttributeName(rest.substr(0, slash)) ||
      !validAttributeName(rest.substr(slash + 1))) {
    if (rest.empty() || rest.ends_with('/')) {
      return withEtag(methodNotAllowedPage(request.method, request.target.path));
    }
    return withEtag(badRequestPage());
  }
  if (request.method == "PUT") {
    store_.set(rel, request.body);
    return text("");
  }
  if (!store_.remove(rel)) return withEtag(notFoundPage(request.target.path));
  return text("");
}

std::optional<MetadataApi::WaitRequest> MetadataApi::waitRequest(const Request& request,
                                                                 std::chrono::seconds cap) const {
  if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
  if (!request.target.flag("wait_for_change")) return std::nullopt;
  WaitRequest out;
  if (const std::string* timeout = request.target.param("timeout_sec")) {
    auto secs = parseSeconds(*timeout);
    if (!secs) return std::nullopt;
    out.timeout = std::chrono::seconds(*secs);
  }
  out.timeout = std::min(out.timeout, cap);
  if (const std::string* last = request.target.param("last_etag")) {
    if (!last->empty()) out.lastEtag = *last;
  }
  return out;
}

}  // namespace guestpulse::fake
