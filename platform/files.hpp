#pragma once
// Crash-safe file replacement for the agent's state directory.

#include <string>

namespace guestpulse::platform {

// Writes `content` to a temporary file beside `path` and renames it over `path`, so a
// reader (or a crash) sees the old or the new content, never a mix. With `durable`, the
// data and the directory entry are flushed to disk before returning (fsync), so the new
// content survives a power loss or kill -9 right after. Returns "" or what failed.
std::string replaceFileAtomically(const std::string& path, const std::string& content,
                                  bool durable);

// Creates the directory (and parents) with mode 0750 if missing. Returns "" or the error.
std::string ensureDirectory(const std::string& path);

}  // namespace guestpulse::platform
