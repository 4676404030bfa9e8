#include "tests/fake_mds/gce_api.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>

#include "tests/fake_mds/gce_data.hpp"
#include "tests/fake_mds/gce_render.hpp"

namespace guestpulse::fake {
namespace {

constexpr std::string_view kV1 = "/computeMetadata/v1/";
constexpr std::string_view kGuestAttributes = "instance/guest-attributes/";
constexpr std::string_view kServiceAccounts = "instance/service-accounts/";
constexpr std::string_view kWorkloadCerts = "instance/gce-workload-certificates/";

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

Reply page(Reply r) { return withEtag(std::move(r)); }

Reply forbidden(std::string_view path, std::string_view why) {
  return page(googleErrorPage(403, "Your client does not have permission to get URL <code>" +
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

std::optional<long> parseSeconds(const std::string& s) {
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

bool isTrue(const std::string* value) {
  if (value == nullptr) return false;
  std::string lower;
  for (char c : *value)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower == "true";
}

// Instance metadata overrides project metadata, as GCE documents for its feature keys.
bool featureOn(const MetadataTree& tree, const std::string& key) {
  if (const std::string* v = tree.leaf("instance/attributes/" + key)) return isTrue(v);
  return isTrue(tree.leaf("project/attributes/" + key));
}

bool validAttributeName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// Clients that join a base URL and a key with '/' send "v1//instance"; GCE serves it.
std::string collapseSlashes(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  return out;
}

Reply listing(const Request& request, std::vector<std::string> children) {
  const std::string* alt = request.target.param("alt");
  if (alt != nullptr && *alt == "json") {
    boost::json::array a;
    for (const std::string& c : children) a.emplace_back(c);
    return json(a);
  }
  std::string body;
  for (const std::string& c : children) body += c + "\n";
  return text(std::move(body));
}

}  // namespace

GceApi::GceApi(MetadataStore& store) : store_(store) {}

Reply GceApi::handle(const Request& request) {
  const std::string path = collapseSlashes(request.target.path);
  bool read = request.method == "GET" || request.method == "HEAD";
  if (path == "/") {
    if (!read) return page(methodNotAllowedPage(request.method, path));
    return text("computeMetadata/\n");
  }
  if (!path.starts_with("/computeMetadata")) return page(notFoundPage(path));
  if (request.forwarded) return forbidden(path, "Request had an X-Forwarded-For header.");
  if (!request.flavor) return forbidden(path, "Missing Metadata-Flavor:Google header.");
  if (path == "/computeMetadata") return redirect(request, "/computeMetadata/");
  if (path == "/computeMetadata/") {
    if (!read) return page(methodNotAllowedPage(request.method, path));
    return text("v1/\n");
  }
  if (path == "/computeMetadata/v1") return redirect(request, std::string(kV1));
  if (!path.starts_with(kV1)) return page(notFoundPage(path));
  std::string rel = path.substr(kV1.size());
  if (request.target.flag("wait_for_change")) {
    // GCE refuses to wait on a listing or a token, and on a timeout that is no number.
    const std::string* timeout = request.target.param("timeout_sec");
    bool listing = (rel.empty() || rel.ends_with('/')) && !request.target.flag("recursive");
    bool token = rel.starts_with(kServiceAccounts) && rel.ends_with("/token");
    if ((timeout != nullptr && !parseSeconds(*timeout)) || listing || token)
      return page(badRequestPage());
  }
  MetadataTree tree = store_.snapshot();
  if (rel.starts_with(kGuestAttributes) || rel + "/" == kGuestAttributes)
    return guestAttributes(request, rel, tree);
  if (!read) return page(methodNotAllowedPage(request.method, path));
  if (rel.starts_with(kServiceAccounts)) return serviceAccount(request, rel, tree);
  if (rel.starts_with(kWorkloadCerts) || rel + "/" == kWorkloadCerts)
    return workloadCertificates(request, rel, tree);
  return this->read(request, rel, tree);
}

Reply GceApi::read(const Request& request, const std::string& rel, const MetadataTree& tree) const {
  const Target& target = request.target;
  const std::string* alt = target.param("alt");
  if (rel.empty() || rel.ends_with('/')) {
    if (!tree.isDirectory(rel)) return page(notFoundPage(target.path));
    if (target.flag("recursive")) {
      if (alt != nullptr && *alt == "text") return text(gceSubtreeText(tree, rel));
      return json(gceSubtreeJson(tree, rel));
    }
    return listing(request, gceVisibleChildren(tree, rel));
  }
  if (const std::string* value = tree.leaf(rel)) {
    if (alt != nullptr && *alt == "json") return json(gceJsonValue(rel, *value));
    if (alt != nullptr && *alt == "text") return text(gceTextValue(rel, *value));
    return text(*value);
  }
  if (tree.isDirectory(rel + "/")) return redirect(request, "/computeMetadata/v1/" + rel + "/");
  return page(notFoundPage(target.path));
}

Reply GceApi::guestAttributes(const Request& request, const std::string& rel,
                              const MetadataTree& tree) const {
  if (!featureOn(tree, "enable-guest-attributes"))
    return page(googleErrorPage(403, "Guest attributes endpoint access is disabled."));
  if (request.method == "GET" || request.method == "HEAD") return read(request, rel, tree);
  if (request.method != "PUT" && request.method != "DELETE")
    return page(methodNotAllowedPage(request.method, request.target.path));
  std::string_view rest =
      std::string_view(rel).substr(std::min(rel.size(), kGuestAttributes.size()));
  std::size_t slash = rest.find('/');
  bool shaped =
      slash != std::string_view::npos && rest.find('/', slash + 1) == std::string_view::npos;
  if (!shaped || !validAttributeName(rest.substr(0, slash)) ||
      !validAttributeName(rest.substr(slash + 1))) {
    if (rest.empty() || rest.ends_with('/'))
      return page(methodNotAllowedPage(request.method, request.target.path));
    return page(badRequestPage());
  }
  if (request.method == "PUT") {
    store_.set(rel, request.body);
    return text("");
  }
  if (!store_.remove(rel)) return page(notFoundPage(request.target.path));
  return text("");
}

Reply GceApi::serviceAccount(const Request& request, const std::string& rel,
                             const MetadataTree& tree) const {
  // instance/service-accounts/<account>/{token,identity} are made per request and are
  // listed, but never part of the recursive JSON.
  std::string_view rest = std::string_view(rel).substr(kServiceAccounts.size());
  std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return read(request, rel, tree);
  std::string accountDir = std::string(kServiceAccounts) + std::string(rest.substr(0, slash + 1));
  std::string_view leaf = rest.substr(slash + 1);
  if (!tree.isDirectory(accountDir)) return read(request, rel, tree);
  if (leaf.empty() && !request.target.flag("recursive")) {
    std::vector<std::string> children = gceVisibleChildren(tree, accountDir);
    children.insert(children.end(), {"identity", "token"});
    std::sort(children.begin(), children.end());
    return listing(request, std::move(children));
  }
  const std::string* email = tree.leaf(accountDir + "email");
  if (leaf == "token") return json(gceAccessToken(email ? *email : ""));
  if (leaf == "identity") {
    const std::string* audience = request.target.param("audience");
    if (audience == nullptr || audience->empty())
      return page(googleErrorPage(400, "non-empty audience parameter required"));
    return text(gceIdentityToken(email ? *email : "", *audience));
  }
  return read(request, rel, tree);
}

Reply GceApi::workloadCertificates(const Request& request, const std::string& rel,
                                   const MetadataTree& tree) const {
  // Off (the instance attribute is not true): nothing there. On: each entry answers as
  // its stored value says: absent -> 404 (no configuration for this VM), "412 <message>"
  // (or "404 <message>") -> that status with Google's page, anything else (JSON) -> 200.
  if (!isTrue(tree.leaf("instance/attributes/enable-workload-certificate")))
    return page(notFoundPage(request.target.path));
  static const std::vector<std::string> kEntries = {"config-status", "trust-anchors",
                                                    "workload-identities"};
  if (rel + "/" == kWorkloadCerts) return redirect(request, "/computeMetadata/v1/" + rel + "/");
  std::string leaf = rel.substr(kWorkloadCerts.size());
  if (leaf.empty()) return listing(request, kEntries);
  const std::string* value = tree.leaf(rel);
  if (value == nullptr || std::find(kEntries.begin(), kEntries.end(), leaf) == kEntries.end())
    return page(notFoundPage(request.target.path));
  for (int status : {404, 412}) {
    std::string prefix = std::to_string(status) + " ";
    if (value->starts_with(prefix) || *value == std::to_string(status))
      return page(googleErrorPage(
          status, htmlEscape(value->substr(std::min(value->size(), prefix.size())))));
  }
  Reply r = text(*value);
  r.contentType = "application/json";
  return r;
}

Reply GceApi::faultReply(int status, const Request& request) const {
  const std::string& path = request.target.path;
  Reply r;
  if (status == 404) {
    r = notFoundPage(path);
  } else if (status == 403 && path.find("/guest-attributes") != std::string::npos) {
    r = googleErrorPage(403, "Guest attributes endpoint access is disabled.");
  } else if (status == 429) {
    r = googleErrorPage(429, "Too many requests: the metadata server is throttling this VM.");
  } else if (status == 503) {
    r = googleErrorPage(503, "The service is currently unavailable. Please try again later.");
  } else if (status >= 500) {
    r = googleErrorPage(status,
                        "The server encountered an error and could not complete your request.");
  } else if (status == 400) {
    r = badRequestPage();
  } else if (status == 401 || status == 403) {
    r = googleErrorPage(status, "Your client does not have permission to get URL <code>" +
                                    htmlEscape(path) + "</code> from this server.");
  } else {
    r = googleErrorPage(
        status, "The server cannot process the request for <code>" + htmlEscape(path) + "</code>.");
  }
  return page(std::move(r));
}

std::optional<ProviderApi::WaitRequest> GceApi::waitRequest(const Request& request,
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
