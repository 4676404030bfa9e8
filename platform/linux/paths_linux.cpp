// Filesystem Hierarchy Standard locations: configuration in /etc, mutable state in
// /var/lib, the first serial port as the console GCE and EC2 capture.

#include "platform/paths.hpp"

namespace guestpulse::platform {

std::string defaultConfigPath() { return "/etc/guestpulse/guestpulse.yaml"; }

std::string defaultStateDir() { return "/var/lib/guestpulse"; }

std::string defaultSerialDevice() { return "/dev/ttyS0"; }

}  // namespace guestpulse::platform
