#pragma once
// Which cloud the agent runs on, for `provider: auto`: a pure decision over the firmware's
// identity (platform/firmware.hpp) and, only when that is inconclusive, over the answers
// to one cheap tagged request per provider. Every choice carries its reason, which
// `check`, `config show`, the status file and the log show.
//
// The firmware decides when it says one of:
//   GCE    sys_vendor "Google", product_name "Google Compute Engine" or bios_vendor "Google"
//   EC2    sys_vendor, bios_vendor or board_vendor "Amazon EC2" (Nitro instances)
//   Azure  chassis_asset_tag 7783-7084-3265-9085-8269-3286-77 (Azure's Hyper-V hosts;
//          Hyper-V elsewhere has another tag)
// (case and surrounding blanks ignored). Otherwise (Xen-based EC2 instances, an
// unreadable sysfs, Hyper-V off Azure) the tagged requests decide: a GCE answer carries
// `Metadata-Flavor: Google`, an EC2 token answer `X-aws-ec2-metadata-token-ttl-seconds`,
// an Azure /metadata/versions answer the list `apiVersions`. Exactly one kind of answer
// decides; none (or several) leaves GCE assumed, and the reason says so.

#include <optional>
#include <string>
#include <string_view>

#include "agent/net/http_result.hpp"
#include "config/config.hpp"
#include "platform/firmware.hpp"

namespace guestpulse {

inline constexpr const char* kAzureChassisAssetTag = "7783-7084-3265-9085-8269-3286-77";

struct ProviderChoice {
  Provider provider = Provider::Gce;  // never Auto
  std::string reason;                 // one line: "firmware: sys_vendor 'Amazon EC2'"
  bool detected = false;              // provider: auto was resolved by detection
};

struct FirmwareVerdict {
  std::optional<Provider> provider;  // nullopt: the firmware does not say
  std::string why;                   // what was seen, either way
};

FirmwareVerdict providerFromFirmware(const platform::FirmwareIdentity& identity);

// The answers to the tagged requests; nullopt where no HTTP answer came.
struct TaggedAnswers {
  std::optional<HttpResponse> gce;    // GET /computeMetadata/v1/ with Metadata-Flavor: Google
  std::optional<HttpResponse> ec2;    // PUT /latest/api/token with a TTL
  std::optional<HttpResponse> azure;  // GET /metadata/versions with Metadata: true
  std::string endpoint;               // where they went, for the reason ("169.254.169.254:80")
};

bool isGceAnswer(const HttpResponse& response);
bool isEc2TokenAnswer(const HttpResponse& response);
bool isAzureVersionsAnswer(const HttpResponse& response);

// The choice from the firmware's verdict and, when it was inconclusive, the answers.
ProviderChoice chooseProvider(const FirmwareVerdict& firmware,
                              const std::optional<TaggedAnswers>& answers);

// The choice for a configured provider (not Auto), or GCE assumed for Auto without
// detection (an Agent built in a test).
// When the firmware does not say, an endpoint variable does: GCE_METADATA_HOST names
// GCE and AWS_EC2_METADATA_SERVICE_ENDPOINT names EC2 (Google's libraries and AWS's SDKs
// honour them, so the VM's software is pointed there). Then no tagged request goes out:
// the other providers' requests would go to their default address, which the variable
// says is not where the metadata server is. Empty values, or both set, say nothing.
std::optional<ProviderChoice> providerFromEnvironment(const FirmwareVerdict& firmware,
                                                      std::string_view gceMetadataHost,
                                                      std::string_view ec2Endpoint);

ProviderChoice configuredProvider(const Config& config);

}  // namespace guestpulse
