#pragma once
// The stub resolver's configuration (resolv.conf(5) text), parsed without I/O.
//
// Contract (glibc's reading of the file):
//  - lines starting with ';' or '#' are comments; a keyword must start its line;
//  - `nameserver ADDR`: one per line, in order; glibc queries only the first 3 (MAXNS):
//    all valid ones are kept in `nameservers`, `ignoredNameservers` names the extras;
//    a value that is not an IP address is skipped with a warning;
//  - `search a b c` and `domain a` replace each other: the last one in the file wins;
//  - `options`: ndots:n (capped at 15), timeout:n (capped at 30), attempts:n (capped at
//    5), rotate, and every other option kept verbatim in `otherOptions`;
//  - unknown keywords are ignored, as glibc ignores them.
// The environment (LOCALDOMAIN, RES_OPTIONS) is not applied here.
//
// systemd-resolved: when the nameserver is its local stub (127.0.0.53, or 127.0.0.54 the
// "proxy" stub), the servers actually asked are in kSystemdResolvedUpstreamPath; the
// platform inspector reads that file and parses it with the same function.
// Never throws.

#include <string>
#include <string_view>
#include <vector>

namespace guestpulse::platform {

inline constexpr const char* kSystemdResolvedUpstreamPath = "/run/systemd/resolve/resolv.conf";
inline constexpr int kResolverMaxNameservers = 3;

struct ResolverConfig {
  std::vector<std::string> nameservers;         // valid addresses in file order, at most 3
  std::vector<std::string> ignoredNameservers;  // valid, but past the first 3
  std::vector<std::string> search;              // the effective search list (last search/domain)
  int ndots = 1;
  int timeoutSeconds = 5;
  int attempts = 2;
  bool rotate = false;
  std::vector<std::string> otherOptions;  // e.g. "edns0", "trust-ad", "single-request"
  std::vector<std::string> warnings;      // "line 3: 'nameserver 169.254.169.254x' ..."

  // Whether any nameserver is the systemd-resolved stub listener (127.0.0.53 or
  // 127.0.0.54): then `nameservers` says nothing about the servers really used.
  bool usesSystemdResolvedStub() const;
  // Whether `address` is among the (first 3) nameservers, compared as addresses.
  bool hasNameserver(std::string_view address) const;
};

ResolverConfig parseResolverConfig(std::string_view text);

bool isSystemdResolvedStubAddress(std::string_view address);

}  // namespace guestpulse::platform
