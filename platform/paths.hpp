#pragma once
// Default locations on this OS: the built-in defaults of the configuration take them
// from here, so no default path is spelled out in shared code.

#include <string>

namespace guestpulse::platform {

// /etc/guestpulse/guestpulse.yaml; %ProgramData%\guestpulse\guestpulse.yaml
std::string defaultConfigPath();
// /var/lib/guestpulse; %ProgramData%\guestpulse\state
std::string defaultStateDir();
// /dev/ttyS0; COM1 (the first serial port, which GCE, EC2 and Azure capture)
std::string defaultSerialDevice();
// Where Google's guest agent writes the metadata server's mTLS files:
// /run/google-mds-mtls/{root.crt,client.key};
// %ProgramData%\Google\Compute Engine\mds-mtls-{root.crt,client.key}
std::string defaultMtlsRootCa();
std::string defaultMtlsClientCert();
// Where the guest agent keeps the workload identity credentials:
// /run/secrets/workload-spiffe-credentials
std::string defaultWorkloadCredentialsDir();

}  // namespace guestpulse::platform
