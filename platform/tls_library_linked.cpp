// For builds that link OpenSSL directly (the tests, GUESTPULSE_LAZY_OPENSSL=OFF): the
// loader resolved it before main, so it is always usable.
#include "platform/tls_library.hpp"

namespace guestpulse::platform {

const std::string& tlsLibraryProblem() {
  static const std::string none;
  return none;
}

}  // namespace guestpulse::platform
