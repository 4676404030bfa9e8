#pragma once
// What Envoy's admin interface says, read without I/O (the service-proxy diagnosis):
//  - /server_info: the version ("<sha>/1.27.0/Clean/RELEASE/BoringSSL" in the JSON's
//    "version"; Envoy before 1.8 answered a line of text holding the same field) and the
//    server state ("LIVE", "PRE_INITIALIZING", "INITIALIZING", "DRAINING");
//  - /config_dump: the listeners the control plane sent, counted by ConfigDumpScanner as
//    the body streams in. Envoy prints `configs` as a list of typed dumps (a map in 1.7);
//    the listeners dump holds `dynamic_listeners[]` with `active_state`, `warming_state`
//    and `error_state` (v3), or `dynamic_active_listeners[]` and
//    `dynamic_warming_listeners[]` (v2). With ?resource=dynamic_listeners each `configs`
//    element is one such listener; both shapes are read.
// A hostile or huge dump cannot bloat the reader: the scanner keeps a few short strings,
// never the document, and refuses nesting deeper than 256.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace guestpulse {

struct EnvoyVersion {
  int major = 0, minor = 0, patch = 0;
  std::string text;  // as Envoy printed it: "1.27.0", "1.15.1-dev"

  bool olderThan(int ma, int mi, int pa) const;
};

// The version in a /server_info body (JSON or the old text form); nullopt if none.
std::optional<EnvoyVersion> parseEnvoyVersion(std::string_view serverInfoBody);
// The "state" member of a /server_info JSON body; "" if none.
std::string serverInfoState(std::string_view serverInfoBody);

struct ConfigDumpListeners {
  std::size_t active = 0;    // dynamic listeners in service
  std::size_t warming = 0;   // received, waiting for their dependencies
  std::size_t draining = 0;  // being removed
  std::size_t rejected = 0;  // the last update of a listener failed (error_state)
  std::string firstActive;   // the name of the first active listener
  std::string firstError;    // the details of the first error_state, at most 200 characters
  std::size_t bytes = 0;     // of the body scanned
  bool complete = false;     // the whole document was read and parsed
  std::string parseError;    // the body stopped being JSON: why
};

class ConfigDumpScanner {
 public:
  ConfigDumpScanner();
  ~ConfigDumpScanner();
  ConfigDumpScanner(const ConfigDumpScanner&) = delete;
  ConfigDumpScanner& operator=(const ConfigDumpScanner&) = delete;

  // The next piece of the body. Returns false once more input cannot change the answer:
  // an active listener (and its name) was found, the document ended, or it is not JSON.
  bool feed(std::string_view piece);
  // The body ended here.
  void finish();
  const ConfigDumpListeners& result() const;

 private:
  class Parser;
  std::unique_ptr<Parser> parser_;
};

}  // namespace guestpulse
