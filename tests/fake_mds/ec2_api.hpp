#pragma once
// EC2's instance metadata service (IMDS) as AWS documents it for IMDSv2:
//   PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds: 1..21600 -> a token
//       (400 when the TTL is missing or invalid, 403 with X-Forwarded-For), answered
//       with the IP TTL set to the PUT response hop limit;
//   GET /latest/... with X-aws-ec2-metadata-token -> the value (401 for an unknown or
//       expired token, and without a token while tokens are required);
//   403 for everything while the endpoint is disabled.
// Values live in the store relative to /latest/ ("meta-data/instance-id"). Listings are
// one name a line, directories with a trailing '/', no final newline; a directory
// answers with or without its trailing '/'. Errors are EC2's XHTML pages.

#include <map>
#include <string>

#include "tests/fake_mds/ec2_tokens.hpp"
#include "tests/fake_mds/metadata_store.hpp"
#include "tests/fake_mds/provider_api.hpp"

namespace guestpulse::fake {

class Ec2Api final : public ProviderApi {
 public:
  Ec2Api(MetadataStore& store, Ec2Imds& imds);

  Reply handle(const Request& request) override;
  Reply faultReply(int status, const Request& request) const override;

 private:
  Reply issueToken(const Request& request, const Ec2Options& options);
  Reply read(const Request& request) const;

  MetadataStore& store_;
  Ec2Imds& imds_;
};

// An instance i-0123456789abcdef0 (t3.micro, eu-west-1a) with the IAM role
// guestpulse-test-role, whose credentials are made fresh (valid 6 h) for each request
// while the stored value is empty.
std::map<std::string, std::string> ec2Defaults();

}  // namespace guestpulse::fake
