#pragma once
// Azure's Instance Metadata Service (IMDS) as Microsoft documents it:
//   every request needs `Metadata: true` and no X-Forwarded-For (400 otherwise);
//   GET /metadata/versions                      -> {"apiVersions": [...]}
//   GET /metadata/instance[/<route>]?api-version=V[&format=json|text]
//       -> the instance document (every primitive a string), filtered by route; a leaf
//          needs format=text; api-version missing or unknown -> 400 with the newest ones;
//   GET /metadata/identity/oauth2/token?api-version=V&resource=R[&client_id=...]
//       -> a managed identity access token, as @azure/identity (MSAL) asks for it; 400
//          "Identity not found" while the VM has no identity.
// Only GET. Values live in the store relative to /metadata/ ("instance/compute/location");
// "identity/client-id" is the VM's managed identity (remove it for a VM without one).
// Errors are Azure's JSON bodies.

#include <map>
#include <string>

#include "tests/fake_mds/metadata_store.hpp"
#include "tests/fake_mds/provider_api.hpp"

namespace guestpulse::fake {

class AzureApi final : public ProviderApi {
 public:
  explicit AzureApi(MetadataStore& store);

  Reply handle(const Request& request) override;
  Reply faultReply(int status, const Request& request) const override;

 private:
  Reply instance(const Request& request, const std::string& route) const;
  Reply identityToken(const Request& request) const;

  MetadataStore& store_;
};

// A Standard_B1s Linux VM "guestpulse-test" in westeurope with a system-assigned
// managed identity.
std::map<std::string, std::string> azureDefaults();

}  // namespace guestpulse::fake
