#pragma once
// Reading a credential file (PEM) as the agent finds it on disk: its text, when it was
// last written, and, if it cannot be used, why — in words an operator recognises
// ("No such file or directory", "Permission denied", "empty file").
//
// Small and synchronous: credential files live on tmpfs under /run. Callers on the
// event loop run it on the BlockingPool anyway, so a stuck mount cannot stall the loop.

#include <cstddef>
#include <optional>
#include <string>

#include "agent/core/duration.hpp"

namespace guestpulse::certs {

struct PemFile {
  std::string path;
  bool exists = false;               // something is at `path` (it may still be unreadable)
  std::string text;                  // the content when readable
  std::optional<WallTime> modified;  // last write time, when known
  std::string error;                 // empty when `text` is usable

  bool ok() const { return error.empty(); }
};

// Reads `path` whole. A file larger than `limit` bytes, a directory or an empty file is
// an error (credential files are a few KiB).
PemFile readPemFile(const std::string& path, std::size_t limit = 1024 * 1024);

// `dir` joined with `name`, with exactly one separator.
std::string joinPath(const std::string& dir, const std::string& name);

}  // namespace guestpulse::certs
