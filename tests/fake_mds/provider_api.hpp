#pragma once
// What every provider's metadata surface offers the session: the answer to a request, the
// provider's own error page for a status fault, and (GCE only) wait_for_change. Pure
// request -> reply logic over the store; the session applies faults and does the I/O.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "tests/fake_mds/exchange.hpp"
#include "tests/fake_mds/fake_mds.hpp"

namespace guestpulse::fake {

class MetadataStore;
class Ec2Imds;

class ProviderApi {
 public:
  virtual ~ProviderApi() = default;

  // Called on the server thread only, one request at a time.
  virtual Reply handle(const Request& request) = 0;

  // What this provider answers with `status` (a status fault with no body of its own):
  // Google's HTML pages, EC2's XHTML pages, Azure's JSON errors.
  virtual Reply faultReply(int status, const Request& request) const = 0;

  struct WaitRequest {
    std::optional<std::string> lastEtag;
    std::chrono::seconds timeout{60};
  };
  // The wait_for_change parameters of a request, with the timeout capped at `cap`;
  // nullopt when the request does not wait (every provider but GCE).
  virtual std::optional<WaitRequest> waitRequest(const Request& request,
                                                 std::chrono::seconds cap) const {
    (void)request;
    (void)cap;
    return std::nullopt;
  }
};

std::unique_ptr<ProviderApi> makeProviderApi(Provider provider, MetadataStore& store, Ec2Imds& ec2);

// The values a fresh fake of `provider` starts with, and the directories that exist
// even while empty.
std::map<std::string, std::string> defaultValues(Provider provider);
std::set<std::string> fixedDirectories(Provider provider);

// Strips the provider's root ("/computeMetadata/v1/", "/latest/", "/metadata/") or a
// leading "/" from a caller-supplied value path.
std::string normalizeMetadataPath(Provider provider, std::string_view path);

}  // namespace guestpulse::fake
