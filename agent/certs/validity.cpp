#include "agent/certs/validity.hpp"

#include <algorithm>

namespace guestpulse::certs {

ValidityVerdict assessValidity(WallTime notBefore, WallTime notAfter, WallTime now,
                               const ValidityPolicy& policy) {
  using std::chrono::duration_cast;
  ValidityVerdict verdict;
  const Duration lifetime = duration_cast<Duration>(notAfter - notBefore);
  verdict.remaining = duration_cast<Duration>(notAfter - now);
  verdict.warnWithin = std::min(
      policy.warnCap, Duration(static_cast<Duration::rep>(lifetime.count() * policy.warnFraction)));
  if (now < notBefore) {
    verdict.validity = Validity::NotYetValid;
    verdict.startsIn = duration_cast<Duration>(notBefore - now);
  } else if (now >= notAfter) {
    verdict.validity = Validity::Expired;
  } else if (verdict.remaining <= verdict.warnWithin) {
    verdict.validity = Validity::Expiring;
  }
  return verdict;
}

bool rotationStalled(WallTime modified, Duration lifetime, WallTime now, Duration slack) {
  if (lifetime <= Duration(0)) return false;
  return now - modified > lifetime / 2 + slack;
}

}  // namespace guestpulse::certs
