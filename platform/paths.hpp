#pragma once
// Default locations on this OS.

#include <string>

namespace guestpulse::platform {

std::string
defaultConfigPath();  // /etc/guestpulse/guestpulse.yaml, %ProgramData%\guestpulse\guestpulse.yaml
std::string defaultStateDir();      // /var/lib/guestpulse, %ProgramData%\guestpulse
std::string defaultSerialDevice();  // /dev/ttyS0, COM1

}  // namespace guestpulse::platform
