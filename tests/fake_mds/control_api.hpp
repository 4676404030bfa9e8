#pragma once
// The HTTP control API under /_fake/ (listed in fake_mds.hpp). It is a thin JSON layer
// over the same objects the C++ API uses, so both paths behave identically.

#include <string_view>

#include "tests/fake_mds/ec2_tokens.hpp"
#include "tests/fake_mds/exchange.hpp"
#include "tests/fake_mds/fault_table.hpp"
#include "tests/fake_mds/metadata_store.hpp"
#include "tests/fake_mds/request_log.hpp"

namespace guestpulse::fake {

class ControlApi {
 public:
  ControlApi(Provider provider, MetadataStore& store, FaultTable& faults, RequestLog& log,
             Ec2Imds& ec2);

  static bool isControlPath(std::string_view path);  // "/_fake" or below

  // Errors are JSON {"error": "..."} with 400 (bad input), 404 (unknown path or item)
  // or 405 (method); successes are JSON or "ok".
  Reply handle(const Request& request) const;

 private:
  Reply faults(const Request& request, std::string_view rest) const;
  Reply requests(const Request& request) const;
  Reply metadata(const Request& request, std::string_view rest) const;
  Reply ec2(const Request& request, std::string_view rest) const;

  Provider provider_;
  MetadataStore& store_;
  FaultTable& faults_;
  RequestLog& log_;
  Ec2Imds& ec2_;
};

}  // namespace guestpulse::fake
