#include "tests/fake_mds/provider_api.hpp"

#include "tests/fake_mds/azure_api.hpp"
#include "tests/fake_mds/ec2_api.hpp"
#include "tests/fake_mds/gce_api.hpp"
#include "tests/fake_mds/gce_data.hpp"

namespace guestpulse::fake {

std::unique_ptr<ProviderApi> makeProviderApi(Provider provider, MetadataStore& store,
                                             Ec2Imds& ec2) {
  switch (provider) {
    case Provider::Ec2:
      return std::make_unique<Ec2Api>(store, ec2);
    case Provider::Azure:
      return std::make_unique<AzureApi>(store);
    case Provider::Gce:
      break;
  }
  return std::make_unique<GceApi>(store);
}

std::map<std::string, std::string> defaultValues(Provider provider) {
  switch (provider) {
    case Provider::Ec2:
      return ec2Defaults();
    case Provider::Azure:
      return azureDefaults();
    case Provider::Gce:
      break;
  }
  return gceDefaults();
}

std::set<std::string> fixedDirectories(Provider provider) {
  if (provider == Provider::Gce) return gceFixedDirectories();
  return {};
}

std::string normalizeMetadataPath(Provider provider, std::string_view path) {
  std::string_view root = provider == Provider::Ec2     ? "/latest/"
                          : provider == Provider::Azure ? "/metadata/"
                                                        : "/computeMetadata/v1/";
  if (path.starts_with(root)) {
    path.remove_prefix(root.size());
  } else {
    while (path.starts_with('/')) path.remove_prefix(1);
  }
  return std::string(path);
}

}  // namespace guestpulse::fake
