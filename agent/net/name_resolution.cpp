#include "agent/net/name_resolution.hpp"

namespace guestpulse {

std::string NameResolution::describeFailure() const {
  if (stillPending) return "the previous lookup has not returned yet (resolver hung)";
  if (timedOut) return "timeout after " + formatDuration(elapsed);
  if (error) return error.message();
  return "no addresses";
}

}  // namespace guestpulse
