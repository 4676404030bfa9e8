#pragma once
// What one metadata call did, attempt by attempt, as plain values: produced by the
// metadata clients, read by the diagnosis.

#include <string>
#include <vector>

#include "agent/core/duration.hpp"
#include "agent/net/http_result.hpp"

namespace guestpulse {

struct MetadataAttempt {
  HttpResult http;
  Duration waitedBefore{0};  // backoff slept before this attempt
};

struct MetadataResult {
  std::string target;  // full request target
  std::vector<MetadataAttempt> attempts;
  bool flavorOk = false;  // last response carried Metadata-Flavor: Google

  const HttpResult& last() const { return attempts.back().http; }
  int status() const { return last().response ? last().response->status : 0; }
  bool ok() const { return status() == 200 && flavorOk; }
  const std::string& body() const {
    static const std::string empty;
    return last().response ? last().response->body : empty;
  }
};

}  // namespace guestpulse
