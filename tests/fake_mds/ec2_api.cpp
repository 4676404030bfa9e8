#include "tests/fake_mds/ec2_api.hpp"

#include <atomic>
#include <charconv>
#include <chrono>

namespace guestpulse::fake {
namespace {

constexpr std::string_view kLatest = "/latest/";
constexpr std::string_view kTokenPath = "/latest/api/token";
constexpr std::string_view kCredentials = "meta-data/iam/security-credentials/";
constexpr const char* kRole = "guestpulse-test-role";

// EC2's error pages are the same small XHTML document for every status.
Reply ec2Page(int status) {
  std::string title = std::to_string(status) + " - " + std::string(reasonPhrase(status));
  Reply r;
  r.status = status;
  r.metadataHeaders = false;
  r.server = "EC2ws";
  r.contentType = "text/html";
  r.body =
      "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
      "\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
      "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
      " <head>\n  <title>" +
      title + "</title>\n </head>\n <body>\n  <h1>" + title + "</h1>\n </body>\n</html>\n";
  return r;
}

Reply ec2Text(std::string body) {
  Reply r;
  r.metadataHeaders = false;
  r.server = "EC2ws";
  r.contentType = "text/plain";
  r.body = std::move(body);
  r.extraHeaders.emplace_back("Accept-Ranges", "none");
  return r;
}

std::string isoSeconds(std::chrono::system_clock::time_point t) {
  std::string millis = rfc3339Millis(t);  // "...T22:00:00.123Z"
  return millis.substr(0, millis.size() - 5) + "Z";
}

// What IMDS answers for a role: fresh, clearly fake, valid for six hours.
std::string roleCredentials() {
  static std::atomic<int> serial{0};
  auto now = std::chrono::system_clock::now();
  std::string n = std::to_string(++serial);
  return "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"" + isoSeconds(now) +
         "\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAFAKEMDS" + n +
         "\",\n  \"SecretAccessKey\" : \"fake-mds-secret-" + n +
         "\",\n  \"Token\" : \"fake-mds-session-token-" + n + "\",\n  \"Expiration\" : \"" +
         isoSeconds(now + std::chrono::hours(6)) + "\"\n}";
}

std::optional<int> parseTtl(const std::string* header) {
  if (header == nullptr) return std::nullopt;
  int v = 0;
  auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), v);
  if (header->empty() || ec != std::errc() || end != header->data() + header->size())
    return std::nullopt;
  if (v < Ec2Imds::kMinTtl || v > Ec2Imds::kMaxTtl) return std::nullopt;
  return v;
}

}  // namespace

Ec2Api::Ec2Api(MetadataStore& store, Ec2Imds& imds) : store_(store), imds_(imds) {}

Reply Ec2Api::handle(const Request& request) {
  const Ec2Options options = imds_.options();
  const std::string& path = request.target.path;
  bool read = request.method == "GET" || request.method == "HEAD";
  if (!options.endpointEnabled) return ec2Page(403);  // HttpEndpoint disabled
  if (path == kTokenPath) {
    if (request.method != "PUT") return ec2Page(405);
    return issueToken(request, options);
  }
  if (!read) return ec2Page(405);
  if (const std::string* token = request.header("x-aws-ec2-metadata-token")) {
    // A token that is not (or no longer) valid fails even where IMDSv1 is allowed.
    if (imds_.check(*token) != Ec2Imds::Check::Valid) return ec2Page(401);
  } else if (options.tokensRequired) {
    return ec2Page(401);
  }
  return this->read(request);
}

Reply Ec2Api::issueToken(const Request& request, const Ec2Options& options) {
  // The hop limit applies to every answer to the token PUT: a caller too many routed
  // hops away never even learns why.
  Reply r;
  if (request.forwarded) {
    r = ec2Page(403);  // IMDSv2 refuses token requests that went through a proxy
  } else if (auto ttl = parseTtl(request.header("x-aws-ec2-metadata-token-ttl-seconds"))) {
    r = ec2Text(imds_.issue(*ttl));
    r.extraHeaders.emplace_back("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", std::to_string(*ttl));
  } else {
    r = ec2Page(400);  // missing, not a number, or outside 1..21600
  }
  r.ipTtl = options.hopLimit;
  return r;
}

Reply Ec2Api::read(const Request& request) const {
  const std::string& path = request.target.path;
  if (path == "/") return ec2Text("latest");
  if (!path.starts_with(kLatest) && path != "/latest") return ec2Page(404);
  std::string rel = path.size() > kLatest.size() ? path.substr(kLatest.size()) : "";
  MetadataTree tree = store_.snapshot();
  if (const std::string* value = rel.ends_with('/') ? nullptr : tree.leaf(rel)) {
    if (value->empty() && rel.starts_with(kCredentials)) return ec2Text(roleCredentials());
    return ec2Text(*value);
  }
  std::string dir = rel.empty() || rel.ends_with('/') ? rel : rel + "/";
  if (!tree.isDirectory(dir)) return ec2Page(404);
  std::string body;
  for (const std::string& child : tree.children(dir)) body += (body.empty() ? "" : "\n") + child;
  return ec2Text(std::move(body));
}

Reply Ec2Api::faultReply(int status, const Request& request) const {
  (void)request;
  return ec2Page(status);
}

std::map<std::string, std::string> ec2Defaults() {
  const std::string host = "ip-172-31-16-12.eu-west-1.compute.internal";
  return {
      {"meta-data/ami-id", "ami-0abcdef1234567890"},
      {"meta-data/ami-launch-index", "0"},
      {"meta-data/hostname", host},
      {"meta-data/local-hostname", host},
      {"meta-data/local-ipv4", "172.31.16.12"},
      {"meta-data/mac", "0a:1b:2c:3d:4e:5f"},
      {"meta-data/instance-id", "i-0123456789abcdef0"},
      {"meta-data/instance-type", "t3.micro"},
      {"meta-data/instance-life-cycle", "on-demand"},
      {"meta-data/placement/availability-zone", "eu-west-1a"},
      {"meta-data/placement/availability-zone-id", "euw1-az1"},
      {"meta-data/placement/region", "eu-west-1"},
      {"meta-data/security-groups", "default"},
      {"meta-data/services/domain", "amazonaws.com"},
      {"meta-data/iam/info",
       "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2026-11-22T21:00:00Z\",\n"
       "  \"InstanceProfileArn\" : \"arn:aws:iam::123456789012:instance-profile/" +
           std::string(kRole) + "\",\n  \"InstanceProfileId\" : \"AIPAFAKEMDSPROFILE01\"\n}"},
      {std::string(kCredentials) + kRole, ""},
      {"dynamic/instance-identity/document",
       "{\n  \"accountId\" : \"123456789012\",\n  \"architecture\" : \"x86_64\",\n"
       "  \"availabilityZone\" : \"eu-west-1a\",\n  \"billingProducts\" : null,\n"
       "  \"devpayProductCodes\" : null,\n  \"marketplaceProductCodes\" : null,\n"
       "  \"imageId\" : \"ami-0abcdef1234567890\",\n"
       "  \"instanceId\" : \"i-0123456789abcdef0\",\n  \"instanceType\" : \"t3.micro\",\n"
       "  \"kernelId\" : null,\n  \"pendingTime\" : \"2026-11-22T21:00:00Z\",\n"
       "  \"privateIp\" : \"172.31.16.12\",\n  \"ramdiskId\" : null,\n"
       "  \"region\" : \"eu-west-1\",\n  \"version\" : \"2017-09-30\"\n}"},
  };
}

}  // namespace guestpulse::fake
