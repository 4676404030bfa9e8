#pragma once
// When a certificate is (still) good: pure date arithmetic, no OpenSSL, no clock of its
// own — the caller passes `now`, so tests pin it.
//
// "Expiring" is relative to the certificate's lifetime, capped: a certificate warns
// when less than `warnFraction` of its lifetime is left, but never earlier than `warnCap`
// before it expires. A 24-hour workload certificate that its refresher renews at half
// life therefore never warns while rotation works (it would only with under 4.8 h left),
// and a one-year certificate warns in its last `warnCap`, not for two months.

#include "agent/core/duration.hpp"

namespace guestpulse::certs {

enum class Validity { Valid, NotYetValid, Expired, Expiring };

struct ValidityPolicy {
  double warnFraction = 0.2;
  Duration warnCap = std::chrono::hours(24);
};

struct ValidityVerdict {
  Validity validity = Validity::Valid;
  Duration remaining{0};   // until notAfter (negative once expired)
  Duration warnWithin{0};  // the warning window that applied
  Duration startsIn{0};    // until notBefore, when NotYetValid
};

ValidityVerdict assessValidity(WallTime notBefore, WallTime notAfter, WallTime now,
                               const ValidityPolicy& policy);

// Rotation has stopped when the credential file was last written longer ago than half
// the certificate's lifetime plus `slack` (the refresher's own period): a healthy
// refresher replaces a certificate at about half its life.
bool rotationStalled(WallTime modified, Duration lifetime, WallTime now, Duration slack);

}  // namespace guestpulse::certs
