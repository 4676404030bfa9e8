#include "agent/provider/provider_detection.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace guestpulse {

namespace {

std::string normalized(const std::string& text) {
  std::size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  std::string out = text.substr(begin, end - begin);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string quoted(const char* field, const std::string& value) {
  return std::string(field) + " '" + value + "'";
}

}  // namespace

FirmwareVerdict providerFromFirmware(const platform::FirmwareIdentity& id) {
  const std::string vendor = normalized(id.systemManufacturer);
  const std::string product = normalized(id.productName);
  const std::string bios = normalized(id.biosVendor);
  const std::string board = normalized(id.boardManufacturer);
  const std::string tag = normalized(id.chassisAssetTag);

  if (vendor == "google") return {Provider::Gce, quoted("sys_vendor", id.systemManufacturer)};
  if (product == "google compute engine")
    return {Provider::Gce, quoted("product_name", id.productName)};
  if (bios == "google") return {Provider::Gce, quoted("bios_vendor", id.biosVendor)};
  if (vendor == "amazon ec2") return {Provider::Ec2, quoted("sys_vendor", id.systemManufacturer)};
  if (bios == "amazon ec2") return {Provider::Ec2, quoted("bios_vendor", id.biosVendor)};
  if (board == "amazon ec2") return {Provider::Ec2, quoted("board_vendor", id.boardManufacturer)};
  if (tag == kAzureChassisAssetTag)
    return {Provider::Azure, quoted("chassis_asset_tag", id.chassisAssetTag) + " (Azure's)"};

  if (id.empty())
    return {std::nullopt, "no firmware identity (" +
                              (id.error.empty() ? std::string("nothing read") : id.error) + ")"};
  std::vector<std::string> seen;
  if (!id.systemManufacturer.empty()) seen.push_back(quoted("sys_vendor", id.systemManufacturer));
  if (!id.productName.empty()) seen.push_back(quoted("product_name", id.productName));
  if (!id.chassisAssetTag.empty() && vendor.starts_with("microsoft"))
    seen.push_back(quoted("chassis_asset_tag", id.chassisAssetTag));
  std::string why;
  for (const auto& s : seen) why += (why.empty() ? "" : ", ") + s;
  if (why.empty()) why = quoted("bios_vendor", id.biosVendor);
  if (vendor.starts_with("microsoft")) why += ": Hyper-V, but not Azure's asset tag";
  return {std::nullopt, "firmware names no cloud (" + why + ")"};
}

bool isGceAnswer(const HttpResponse& response) {
  return response.header("Metadata-Flavor") == std::optional<std::string>("Google");
}

bool isEc2TokenAnswer(const HttpResponse& response) {
  return response.status == 200 &&
         response.header("X-aws-ec2-metadata-token-ttl-seconds").has_value() &&
         !response.body.empty();
}

bool isAzureVersionsAnswer(const HttpResponse& response) {
  return response.status == 200 && response.body.find("\"apiVersions\"") != std::string::npos;
}

ProviderChoice chooseProvider(const FirmwareVerdict& firmware,
                              const std::optional<TaggedAnswers>& answers) {
  if (firmware.provider) return {*firmware.provider, "firmware: " + firmware.why, true};
  std::vector<std::pair<Provider, std::string>> matched;
  if (answers) {
    if (answers->gce && isGceAnswer(*answers->gce))
      matched.emplace_back(Provider::Gce, "a GCE metadata answer (Metadata-Flavor: Google)");
    if (answers->ec2 && isEc2TokenAnswer(*answers->ec2))
      matched.emplace_back(Provider::Ec2, "an IMDSv2 token");
    if (answers->azure && isAzureVersionsAnswer(*answers->azure))
      matched.emplace_back(Provider::Azure, "Azure IMDS's version list");
  }
  const std::string where = answers ? answers->endpoint : std::string("the metadata address");
  if (matched.size() == 1)
    return {matched.front().first,
            firmware.why + "; " + where + " answered with " + matched.front().second, true};
  if (matched.empty())
    return {Provider::Gce,
            firmware.why + "; no provider's metadata request was answered at " + where +
                "; gce assumed",
            true};
  return {Provider::Gce,
          firmware.why + "; " + where + " answered as several providers; gce assumed", true};
}

std::optional<ProviderChoice> providerFromEnvironment(const FirmwareVerdict& firmware,
                                                      std::string_view gceMetadataHost,
                                                      std::string_view ec2Endpoint) {
  if (firmware.provider || gceMetadataHost.empty() == ec2Endpoint.empty()) return std::nullopt;
  if (!gceMetadataHost.empty())
    return ProviderChoice{Provider::Gce, firmware.why + "; GCE_METADATA_HOST is set", true};
  return ProviderChoice{Provider::Ec2, firmware.why + "; AWS_EC2_METADATA_SERVICE_ENDPOINT is set",
                        true};
}

ProviderChoice configuredProvider(const Config& config) {
  if (config.provider == Provider::Auto)
    return {Provider::Gce, "provider: auto, not detected; gce assumed", false};
  return {config.provider, "provider: " + std::string(toString(config.provider)) + " configured",
          false};
}

}  // namespace guestpulse
