#include "tests/fake_mds/gce_data.hpp"

#include <atomic>
#include <boost/json.hpp>
#include <chrono>

namespace guestpulse::fake {
namespace {

constexpr const char* kEmail = "123456789012-compute@developer.gserviceaccount.com";

std::string base64Url(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (i + 1 < in.size()) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t nextSerial() {
  static std::atomic<std::uint64_t> serial{1};
  return serial++;
}

}  // namespace

std::map<std::string, std::string> gceDefaults() {
  std::map<std::string, std::string> values = {
      {"instance/id", "4520031799277581759"},
      {"instance/name", "guestpulse-test"},
      {"instance/hostname", "guestpulse-test.us-central1-a.c.guestpulse-test.internal"},
      {"instance/zone", "projects/123456789012/zones/us-central1-a"},
      {"instance/machine-type", "projects/123456789012/machineTypes/e2-small"},
      {"instance/cpu-platform", "Intel Broadwell"},
      {"instance/image", "projects/debian-cloud/global/images/debian-12-bookworm-v20251111"},
      {"instance/description", ""},
      {"instance/tags", "[]"},
      {"instance/maintenance-event", "NONE"},
      {"instance/disks/0/device-name", "guestpulse-test"},
      {"instance/disks/0/index", "0"},
      {"instance/disks/0/interface", "SCSI"},
      {"instance/disks/0/mode", "READ_WRITE"},
      {"instance/disks/0/type", "PERSISTENT-BALANCED"},
      {"instance/network-interfaces/0/ip", "10.128.0.2"},
      {"instance/network-interfaces/0/mac", "42:01:0a:80:00:02"},
      {"instance/network-interfaces/0/mtu", "1460"},
      {"instance/network-interfaces/0/network", "projects/123456789012/networks/default"},
      {"instance/network-interfaces/0/subnetmask", "255.255.240.0"},
      {"instance/network-interfaces/0/gateway", "10.128.0.1"},
      {"instance/network-interfaces/0/dns-servers", "169.254.169.254"},
      {"project/project-id", "guestpulse-test"},
      {"project/numeric-project-id", "123456789012"},
      {"project/attributes/enable-oslogin", "TRUE"},
      {"universe/universe-domain", "googleapis.com"},
  };
  for (std::string account : {std::string("default"), std::string(kEmail)}) {
    std::string dir = "instance/service-accounts/" + account + "/";
    values[dir + "email"] = kEmail;
    values[dir + "aliases"] = "default";
    values[dir + "scopes"] = "https://www.googleapis.com/auth/cloud-platform\n";
  }
  return values;
}

std::set<std::string> gceFixedDirectories() {
  return {"instance/", "instance/attributes/", "instance/guest-attributes/", "project/",
          "project/attributes/"};
}

boost::json::value gceAccessToken(const std::string& email) {
  std::string token =
      "ya29.fake-mds-" + std::to_string(nextSerial()) + "-" + base64Url(email).substr(0, 16);
  return boost::json::object{
      {"access_token", token}, {"expires_in", 3599}, {"token_type", "Bearer"}};
}

std::string gceIdentityToken(const std::string& email, const std::string& audience) {
  std::int64_t now = nowSeconds();
  boost::json::object header{{"alg", "RS256"}, {"kid", "fake-mds"}, {"typ", "JWT"}};
  boost::json::object claims{{"aud", audience},
                             {"azp", "104567891234567890123"},
                             {"email", email},
                             {"email_verified", true},
                             {"exp", now + 3600},
                             {"iat", now},
                             {"iss", "https://accounts.google.com"},
                             {"sub", "104567891234567890123"}};
  return base64Url(boost::json::serialize(header)) + "." +
         base64Url(boost::json::serialize(claims)) + "." +
         base64Url("fake-mds signature " + std::to_string(nextSerial()));
}

}  // namespace guestpulse::fake
