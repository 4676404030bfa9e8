#pragma once
// The metadata surface of the fake: everything that is not /_fake/. Pure request → reply
// logic over a MetadataStore; the session applies faults and drives wait_for_change.

#include <chrono>
#include <optional>
#include <string>

#include "tests/fake_mds/exchange.hpp"
#include "tests/fake_mds/metadata_store.hpp"

namespace guestpulse::fake {

class MetadataApi {
 public:
  explicit MetadataApi(MetadataStore& store);

  // GCE's rules, in GCE's order: X-Forwarded-For → 403, missing flavor → 403 (both only
  // under /computeMetadata/), then method and path. GET/HEAD read values, listings and
  // JSON; PUT/DELETE work on instance/guest-attributes/<ns>/<key> only; others → 405.
  // Every reply has its ETag set.
  Reply handle(const Request& request) const;

  struct WaitRequest {
    std::optional<std::string> lastEtag;
    std::chrono::seconds timeout{60};
  };
  // The wait_for_change parameters of a GET, with the timeout capped at `cap`; nullopt
  // when the request does not ask to wait (or asks invalidly, which handle() answers 400).
  std::optional<WaitRequest> waitRequest(const Request& request, std::chrono::seconds cap) const;

 private:
  Reply read(const Request& request, const std::string& relPath) const;
  Reply writeGuestAttribute(const Request& request, const std::string& relPath) const;

  MetadataStore& store_;
};

}  // namespace guestpulse::fake
