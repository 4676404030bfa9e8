// Fuzz target: PEM and certificate handling: certificate sets and private keys as the
// mTLS and workload-credential checks read them (OpenSSL underneath), names and dates.

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/certs/certificate.hpp"

using namespace guestpulse::certs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view pem(reinterpret_cast<const char*>(data), size);
  CertificateSet set = CertificateSet::parse(pem, "fuzz.pem");
  for (const auto& info : set.certificates()) {
    (void)info.name();
    (void)info.lifetime();
  }
  PrivateKey key = PrivateKey::parse(pem, "fuzz.key");
  if (set.ok() && key.ok() && !set.empty()) (void)keyMatches(set, key);
  if (set.ok() && !set.empty()) (void)verifyChain(set, set);
  return 0;
}
