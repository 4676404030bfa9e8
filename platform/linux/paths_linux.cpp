// Filesystem Hierarchy Standard locations: configuration in /etc, mutable state in
// /var/lib, the first serial port as the console GCE and EC2 capture; the guest agent's
// credentials under /run, where it writes them.

#include "platform/paths.hpp"

namespace guestpulse::platform {

std::string defaultConfigPath() { return "/etc/guestpulse/guestpulse.yaml"; }

std::string defaultStateDir() { return "/var/lib/guestpulse"; }

std::string defaultSerialDevice() { return "/dev/ttyS0"; }

std::string defaultMtlsRootCa() { return "/run/google-mds-mtls/root.crt"; }

std::string defaultMtlsClientCert() { return "/run/google-mds-mtls/client.key"; }

std::string defaultWorkloadCredentialsDir() { return "/run/secrets/workload-spiffe-credentials"; }

}  // namespace guestpulse::platform
