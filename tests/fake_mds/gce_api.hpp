#pragma once
// GCE's metadata server: everything below /computeMetadata/ (and "/"), over a
// MetadataStore whose paths are relative to /computeMetadata/v1/.

#include <string>

#include "tests/fake_mds/metadata_store.hpp"
#include "tests/fake_mds/provider_api.hpp"

namespace guestpulse::fake {

class GceApi final : public ProviderApi {
 public:
  explicit GceApi(MetadataStore& store);

  // GCE's rules, in GCE's order: X-Forwarded-For -> 403, missing flavor -> 403 (both only
  // under /computeMetadata/), then method and path ("//" counts as "/"). GET/HEAD read
  // values, listings and JSON; PUT/DELETE work on instance/guest-attributes/<ns>/<key>
  // only, and only while enable-guest-attributes is TRUE; others -> 405. Every reply has
  // its ETag set.
  Reply handle(const Request& request) override;
  Reply faultReply(int status, const Request& request) const override;
  std::optional<WaitRequest> waitRequest(const Request& request,
                                         std::chrono::seconds cap) const override;

 private:
  Reply read(const Request& request, const std::string& relPath, const MetadataTree& tree) const;
  Reply guestAttributes(const Request& request, const std::string& relPath,
                        const MetadataTree& tree) const;
  Reply serviceAccount(const Request& request, const std::string& relPath,
                       const MetadataTree& tree) const;
  Reply workloadCertificates(const Request& request, const std::string& relPath,
                             const MetadataTree& tree) const;

  MetadataStore& store_;
};

}  // namespace guestpulse::fake
