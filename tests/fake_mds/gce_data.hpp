#pragma once
// What a fresh GCE fake holds, and the tokens its service accounts hand out.

#include <boost/json/value.hpp>
#include <map>
#include <set>
#include <string>

namespace guestpulse::fake {

// A plausible us-central1-a instance in project 123456789012 with the default compute
// service account (also listed under its email, as GCE does); guest attributes off, as
// on a new VM; no workload certificates.
std::map<std::string, std::string> gceDefaults();
std::set<std::string> gceFixedDirectories();

// service-accounts/<account>/token: {"access_token","expires_in","token_type"}, a new
// opaque token each call (never a real credential).
boost::json::value gceAccessToken(const std::string& email);
// service-accounts/<account>/identity?audience=: an (unsigned) JWT with GCE's claims.
std::string gceIdentityToken(const std::string& email, const std::string& audience);

}  // namespace guestpulse::fake
