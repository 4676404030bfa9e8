#include "tests/fake_mds/control_api.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <stdexcept>

#include "tests/fake_mds/provider_api.hpp"

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

ControlApi::ControlApi(Provider provider, MetadataStore& store, FaultTable& faults, RequestLog& log,
                       Ec2Imds& ec2)
    : provider_(provider), store_(store), faults_(faults), log_(log), ec2_(ec2) {}

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
  if (path == "provider") {
    if (method != "GET") return error(405, "use GET");
    return jsonReply(boost::json::object{{"provider", toString(provider_)}});
  }
  if (path.starts_with("ec2/")) return ec2(request, path.substr(4));
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
  std::string path = normalizeMetadataPath(provider_, rest);
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

Reply ControlApi::ec2(const Request& request, std::string_view rest) const {
  if (provider_ != Provider::Ec2) return error(404, "not an EC2 fake (--provider ec2)");
  if (rest == "tokens") {
    if (request.method != "DELETE") return error(405, "use DELETE");
    ec2_.clear();
    return ok();
  }
  if (rest != "options") return error(404, "unknown control path " + request.target.path);
  if (request.method == "PUT" || request.method == "POST") {
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(request.body, ec);
    if (ec || !body.is_object()) return error(400, "body must be a JSON object");
    Ec2Options options = ec2_.options();
    for (const auto& [key, v] : body.as_object()) {
      if (key == "http_tokens" && v.is_string() &&
          (v.as_string() == "required" || v.as_string() == "optional")) {
        options.tokensRequired = v.as_string() == "required";
      } else if (key == "http_endpoint" && v.is_string() &&
                 (v.as_string() == "enabled" || v.as_string() == "disabled")) {
        options.endpointEnabled = v.as_string() == "enabled";
      } else if (key == "hop_limit" && v.is_int64()) {
        options.hopLimit = static_cast<int>(v.as_int64());
      } else {
        return error(400, "bad option '" + std::string(key) +
                              "': http_tokens required|optional, http_endpoint "
                              "enabled|disabled, hop_limit 1..64");
      }
    }
    try {
      ec2_.setOptions(options);
    } catch (const std::invalid_argument& e) {
      return error(400, e.what());
    }
  } else if (request.method != "GET") {
    return error(405, "use GET or PUT");
  }
  Ec2Options now = ec2_.options();
  return jsonReply(
      boost::json::object{{"http_tokens", now.tokensRequired ? "required" : "optional"},
                          {"http_endpoint", now.endpointEnabled ? "enabled" : "disabled"},
                          {"hop_limit", now.hopLimit},
                          {"tokens", ec2_.liveTokens()}});
}

}  // namespace guestpulse::fake
