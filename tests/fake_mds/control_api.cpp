#include "tests/fake_mds/control_api.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <stdexcept>

namespace guestpulse::fake {
namespace {

Reply jsonReply(const boost::json::value& value, int status = 200) {
  Reply r;
  r.status = status;
  r.contentType = "application/json";
  r.body = boost::json::serialize(value);
  r.body += '\n';
  r.metadataHeaders = false;
  return r;
}

Reply error(int status, std::string_view message) {
  return jsonReply(boost::json::object{{"error", message}}, status);
}

Reply ok() { return jsonReply(boost::json::object{{"ok", true}}); }

std::optional<std::uint64_t> parseId(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

ControlApi::ControlApi(MetadataStore& store, FaultTable& faults, RequestLog& log)
    : store_(store), faults_(faults), log_(log) {}

bool ControlApi::isControlPath(std::string_view path) {
  return path == "/_fake" || path.starts_with("/_fake/");
}

Reply ControlApi::handle(const Request& request) const {
  std::string_view path = request.target.path;
  path.remove_prefix(std::min<std::size_t>(path.size(), 7));  // "/_fake/"
  const std::string& method = request.method;

  if (path == "ping") return jsonReply("ok");
  if (path == "faults" || path.starts_with("faults/")) {
    return faults(request, path.substr(std::min<std::size_t>(path.size(), 7)));
  }
  if (path == "requests") return requests(request);
  if (path == "metadata" || path.starts_with("metadata/")) {
    return metadata(request, path.substr(std::min<std::size_t>(path.size(), 9)));
  }
  if (path == "guest-attributes") {
    if (method != "GET") return error(405, "use GET");
    boost::json::object o;
    for (const auto& [key, value] : store_.withPrefix("instance/guest-attributes/")) o[key] = value;
    return jsonReply(o);
  }
  return error(404, "unknown control path " + request.target.path);
}

Reply ControlApi::faults(const Request& request, std::string_view id) const {
  const std::string& method = request.method;
  if (!id.empty()) {
    auto parsed = parseId(id);
    if (!parsed) return error(404, "no such fault");
    if (method != "DELETE") return error(405, "use DELETE on a single fault");
    return faults_.remove(*parsed) ? ok() : error(404, "no such fault");
  }
  if (method == "GET") {
    boost::json::array out;
    for (const FaultRule& rule : faults_.list()) out.push_back(faultToJson(rule));
    return jsonReply(out);
  }
  if (method == "DELETE") {
    faults_.clear();
    return ok();
  }
  if (method != "POST" && method != "PUT") return error(405, "use GET, POST or DELETE");

  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(request.body, ec);
  if (ec) return error(400, "body is not JSON: " + ec.message());
  // Parse every rule before adding any, so a bad element in an array adds nothing.
  std::vector<FaultRule> rules;
  try {
    if (body.is_array()) {
      for (const auto& element : body.as_array()) rules.push_back(faultFromJson(element));
    } else {
      rules.push_back(faultFromJson(body));
    }
  } catch (const std::invalid_argument& e) {
    return error(400, e.what());
  }
  boost::json::array ids;
  for (FaultRule& rule : rules) ids.push_back(faults_.add(std::move(rule)));
  if (!body.is_array()) return jsonReply(boost::json::object{{"id", ids.front()}});
  return jsonReply(boost::json::object{{"ids", ids}});
}

Reply ControlApi::requests(const Request& request) const {
  if (request.method == "DELETE") {
    log_.clear();
    return ok();
  }
  if (request.method != "GET") return error(405, "use GET or DELETE");
  std::uint64_t since = 0;
  if (const std::string* s = request.target.param("since")) {
    auto parsed = parseId(*s);
    if (!parsed) return error(400, "since must be a sequence number");
    since = *parsed;
  }
  Reply r;
  r.contentType = "application/json";
  r.body = requestsToJson(log_.list(since));
  r.metadataHeaders = false;
  return r;
}

Reply ControlApi::metadata(const Request& request, std::string_view rest) const {
  std::string path = normalizeMetadataPath(rest);
  if (path.empty()) {
    if (request.method != "GET") return error(405, "use GET on /_fake/metadata");
    boost::json::object o;
    for (const auto& [key, value] : store_.all()) o[key] = value;
    return jsonReply(o);
  }
  if (path.ends_with('/')) return error(400, "a metadata path must not end with '/'");
  if (request.method == "PUT" || request.method == "POST") {
    store_.set(path, request.body);
    return ok();
  }
  if (request.method == "DELETE") {
    return store_.remove(path) ? ok() : error(404, "no value at " + path);
  }
  if (request.method == "GET") {
    auto value = store_.get(path);
    if (!value) return error(404, "no value at " + path);
    Reply r;
    r.body = *value;
    r.metadataHeaders = false;
    return r;
  }
  return error(405, "use GET, PUT or DELETE");
}

}  // namespace guestpulse::fake
