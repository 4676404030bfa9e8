#pragma once
// Crash-safe file replacement for the agent's state directory, and reading files that
// come from outside (the config, state files, credentials) without ever blocking on them.

#include <cstddef>
#include <optional>
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

// What readRegularFile() found.
struct FileRead {
  std::optional<std::string> content;  // set when the whole file was read
  bool missing = false;                // it does not exist
  bool tooLarge = false;               // it is larger than maxBytes (content not set)
  std::string error;                   // why content is not set: "is a FIFO, not a regular file"
};

// Reads a whole regular file of at most `maxBytes`. Anything else is refused before it is
// opened for reading, so nothing here can wait: a FIFO (which blocks an open until a
// writer comes), a device, a socket or a directory is an error naming what it is. The
// file is opened non-blocking and checked again after opening, in case it was swapped
// in between. The error does not repeat the path.
FileRead readRegularFile(const std::string& path, std::size_t maxBytes);

}  // namespace guestpulse::platform
