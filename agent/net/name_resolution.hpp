#pragma once
// What a name lookup found, as a plain value: produced by NameResolver, read by the
// diagnosis.

#include <boost/system/error_code.hpp>
#include <string>
#include <vector>

#include "agent/core/duration.hpp"

namespace guestpulse {

struct NameResolution {
  std::string name;
  std::vector<std::string> addresses;  // IPv4 and IPv6, in resolver order
  boost::system::error_code error;     // when the lookup answered with an error
  bool timedOut = false;               // no answer within the deadline
  bool stillPending = false;           // an earlier lookup of this name has not returned
  Duration elapsed{0};
  bool ok() const { return !addresses.empty(); }
  // "Name or service not known", "timeout after 2s", ...
  std::string describeFailure() const;
};

}  // namespace guestpulse
