#pragma once
// The hosts file (/etc/hosts, %SystemRoot%\System32\drivers\etc\hosts) as text: parsed
// without I/O, then asked which addresses a name maps to.
//
// Contract (the format of hosts(5), which Windows shares):
//  - one entry per line: an IPv4 or IPv6 address, then one or more names (canonical name
//    and aliases), separated by any mix of spaces and tabs;
//  - '#' starts a comment anywhere on a line; blank lines are ignored;
//  - a line whose first field is not an IP address, or that has an address but no name,
//    is not an entry: it is kept in `invalidLines` so a typo such as
//    "169.254.169.254metadata.google.internal" can be shown to the operator;
//  - names compare case-insensitively and a trailing dot is ignored on both sides, as the
//    resolver does ("Metadata.Google.Internal." finds "metadata.google.internal");
//  - addressesFor() returns every address the name maps to, in file order, without
//    duplicates; glibc answers an IPv4 lookup with the IPv4 ones only, so callers that
//    care filter by family themselves (see host_names.hpp).
// Never throws.

#include <string>
#include <string_view>
#include <vector>

#include "platform/common/host_names.hpp"

namespace guestpulse::platform {

struct HostsEntry {
  int line = 0;                    // 1-based line number in the file
  std::string address;             // as written, e.g. "169.254.169.254" or "fd20:ce::254"
  std::vector<std::string> names;  // as written (case kept), canonical name first
  std::string rawLine;             // the whole line, comment included, for display
};

struct HostsInvalidLine {
  int line = 0;
  std::string rawLine;
  std::string reason;  // "'169.254.169.254metadata.google.internal' is not an IP address"
};

class HostsFile {
 public:
  static HostsFile parse(std::string_view text);

  const std::vector<HostsEntry>& entries() const { return entries_; }
  const std::vector<HostsInvalidLine>& invalidLines() const { return invalidLines_; }

  // Every address `name` maps to, in file order, each once. Empty when the name is absent.
  std::vector<std::string> addressesFor(std::string_view name) const;
  // The entries (lines) that list `name`, in file order.
  std::vector<HostsEntry> entriesFor(std::string_view name) const;
  // The entries whose address is `address` (compared as addresses: "::1" == "0::1").
  std::vector<HostsEntry> entriesForAddress(std::string_view address) const;

 private:
  std::vector<HostsEntry> entries_;
  std::vector<HostsInvalidLine> invalidLines_;
};

}  // namespace guestpulse::platform
