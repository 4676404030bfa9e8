#include "tests/fake_mds/azure_api.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>

namespace guestpulse::fake {
namespace {

constexpr std::string_view kInstance = "/metadata/instance";
constexpr std::string_view kToken = "/metadata/identity/oauth2/token";
constexpr const char* kClientId = "identity/client-id";
constexpr const char* kSeeDocs = " For more information refer to aka.ms/azureimds";

// The versions Microsoft lists as supported, newest first.
constexpr std::array<std::string_view, 35> kApiVersions = {
    "2025-04-07", "2024-07-17", "2024-03-15", "2023-11-15", "2023-07-01", "2021-12-13",
    "2021-11-15", "2021-11-01", "2021-10-01", "2021-08-01", "2021-05-01", "2021-03-01",
    "2021-02-01", "2021-01-01", "2020-12-01", "2020-10-01", "2020-09-01", "2020-07-15",
    "2020-06-01", "2019-11-01", "2019-08-15", "2019-08-01", "2019-06-04", "2019-06-01",
    "2019-04-30", "2019-03-11", "2019-02-01", "2018-10-01", "2018-04-02", "2018-02-01",
    "2017-12-01", "2017-10-01", "2017-08-01", "2017-04-02", "2017-03-01"};

Reply azureJson(const boost::json::value& value, int status = 200) {
  Reply r;
  r.status = status;
  r.metadataHeaders = false;
  r.contentType = "application/json; charset=utf-8";
  r.body = boost::json::serialize(value);
  return r;
}

Reply error(int status, std::string message) {
  return azureJson(boost::json::object{{"error", message}}, status);
}

Reply oauthError(std::string code, std::string description) {
  return azureJson(boost::json::object{{"error", code}, {"error_description", description}}, 400);
}

bool isNumber(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The document below `dir`: objects, numbered directories as arrays, strings throughout.
boost::json::value subtree(const MetadataTree& tree, const std::string& dir) {
  std::vector<std::string> children = tree.children(dir);
  bool array = !children.empty() && std::all_of(children.begin(), children.end(), [](auto& c) {
    return c.ends_with('/') && isNumber(std::string_view(c).substr(0, c.size() - 1));
  });
  if (array) {
    std::sort(children.begin(), children.end(), [](const std::string& a, const std::string& b) {
      return std::stoul(a) < std::stoul(b);
    });
    boost::json::array out;
    for (const std::string& c : children) out.push_back(subtree(tree, dir + c));
    return out;
  }
  boost::json::object out;
  for (const std::string& c : children) {
    if (c.ends_with('/')) {
      out[c.substr(0, c.size() - 1)] = subtree(tree, dir + c);
    } else {
      out[c] = *tree.leaf(dir + c);
    }
  }
  return out;
}

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

AzureApi::AzureApi(MetadataStore& store) : store_(store) {}

Reply AzureApi::handle(const Request& request) {
  // MSAL (@azure/identity) asks for ".../oauth2/token/?...": IMDS takes a trailing '/'.
  std::string path = request.target.path;
  if (path.size() > 1 && path.ends_with('/')) path.pop_back();
  if (!path.starts_with("/metadata")) return error(404, "Not found");
  bool token = path == kToken;
  if (request.forwarded)
    return error(400, "Bad request. Request contains an X-Forwarded-For header.");
  const std::string* metadata = request.header("metadata");
  std::string flag;
  if (metadata != nullptr) {
    for (char c : *metadata)
      flag.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (flag != "true") {
    if (token) return oauthError("bad_request_102", "Required metadata header not specified");
    return error(400, "Bad request. Required metadata header not specified");
  }
  if (request.method != "GET") {
    return error(405, "Http method not allowed: Path = \"" + path + "\", Method = \"" +
                          request.method + "\"");
  }
  if (path == "/metadata/versions") {
    boost::json::array versions;
    for (auto it = kApiVersions.rbegin(); it != kApiVersions.rend(); ++it)
      versions.emplace_back(*it);
    return azureJson(boost::json::object{{"apiVersions", versions}});
  }
  const std::string* version = request.target.param("api-version");
  if (version == nullptr ||
      std::find(kApiVersions.begin(), kApiVersions.end(), *version) == kApiVersions.end()) {
    boost::json::object body{
        {"error", std::string("Bad request. api-version is invalid or was not "
                              "specified in the request.") +
                      kSeeDocs},
        {"newest-versions", {kApiVersions[0], kApiVersions[1], kApiVersions[2]}}};
    return azureJson(body, 400);
  }
  if (token) return identityToken(request);
  if (path == kInstance || path.starts_with(std::string(kInstance) + "/")) {
    std::string route = request.target.path.substr(kInstance.size());
    while (route.starts_with('/')) route.erase(0, 1);
    return instance(request, route);
  }
  return error(404, "Not found");
}

Reply AzureApi::instance(const Request& request, const std::string& route) const {
  MetadataTree tree = store_.snapshot();
  std::string rel = "instance/" + route;
  const std::string* format = request.target.param("format");
  bool textFormat = format != nullptr && *format == "text";
  if (format != nullptr && !textFormat && *format != "json")
    return error(
        400, "Bad request. Query parameter format must be json or text." + std::string(kSeeDocs));
  if (!rel.ends_with('/')) {
    if (const std::string* value = tree.leaf(rel)) {
      // A leaf has no JSON form: the caller must ask for text.
      if (!textFormat)
        return error(400, "Bad request. Query parameter format=text is required for a leaf node." +
                              std::string(kSeeDocs));
      Reply r;
      r.metadataHeaders = false;
      r.contentType = "text/plain; charset=utf-8";
      r.body = *value;
      return r;
    }
    rel += "/";
  }
  if (!tree.isDirectory(rel)) return error(404, "Not found");
  if (!textFormat) return azureJson(subtree(tree, rel));
  Reply r;
  r.metadataHeaders = false;
  r.contentType = "text/plain; charset=utf-8";
  for (const std::string& c : tree.children(rel)) r.body += (r.body.empty() ? "" : "\n") + c;
  return r;
}

Reply AzureApi::identityToken(const Request& request) const {
  const std::string* resource = request.target.param("resource");
  if (resource == nullptr || resource->empty())
    return oauthError("invalid_request", "Required audience parameter not specified");
  std::optional<std::string> clientId = store_.get(kClientId);
  // A user-assigned identity asked for by id must be this VM's one.
  const std::string* asked = request.target.param("client_id");
  if (!clientId || (asked != nullptr && *asked != *clientId))
    return oauthError("invalid_request", "Identity not found");
  static std::atomic<std::uint64_t> serial{1};
  std::int64_t now = nowSeconds();
  constexpr std::int64_t kLifetime = 86399;
  return azureJson(
      boost::json::object{{"access_token", "fake-mds-azure-token-" + std::to_string(serial++)},
                          {"client_id", *clientId},
                          {"expires_in", std::to_string(kLifetime)},
                          {"expires_on", std::to_string(now + kLifetime)},
                          {"ext_expires_in", std::to_string(kLifetime)},
                          {"not_before", std::to_string(now)},
                          {"resource", *resource},
                          {"token_type", "Bearer"}});
}

Reply AzureApi::faultReply(int status, const Request& request) const {
  (void)request;
  if (status == 429) return error(429, "Too many requests");
  if (status == 410) return error(410, "Gone. Retry after some time, for up to 70 seconds");
  return error(status, std::string(reasonPhrase(status)));
}

std::map<std::string, std::string> azureDefaults() {
  const std::string sub = "6f3b1c7e-2a4d-4c1b-9e0f-123456789abc";
  const std::string c = "instance/compute/";
  const std::string nic = "instance/network/interface/0/";
  return {
      {c + "azEnvironment", "AzurePublicCloud"},
      {c + "location", "westeurope"},
      {c + "name", "guestpulse-test"},
      {c + "osType", "Linux"},
      {c + "provider", "Microsoft.Compute"},
      {c + "resourceGroupName", "guestpulse-rg"},
      {c + "resourceId", "/subscriptions/" + sub +
                             "/resourceGroups/guestpulse-rg/providers/Microsoft.Compute/"
                             "virtualMachines/guestpulse-test"},
      {c + "subscriptionId", sub},
      {c + "vmId", "02aab8a4-74ef-476e-8182-f6d2ba4166a6"},
      {c + "vmSize", "Standard_B1s"},
      {c + "zone", "1"},
      {c + "platformFaultDomain", "0"},
      {c + "platformUpdateDomain", "0"},
      {nic + "ipv4/ipAddress/0/privateIpAddress", "10.0.0.4"},
      {nic + "ipv4/ipAddress/0/publicIpAddress", ""},
      {nic + "ipv4/subnet/0/address", "10.0.0.0"},
      {nic + "ipv4/subnet/0/prefix", "24"},
      {nic + "macAddress", "000D3A12AB34"},
      {kClientId, "7d6a2c44-3f1b-4c8e-9a55-0123456789ab"},
  };
}

}  // namespace guestpulse::fake
