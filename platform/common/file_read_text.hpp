#pragma once
// The words readRegularFile() uses on every OS, so an operator reads the same error about
// a config file on Linux and on Windows.

#include <cstddef>
#include <string>
#include <string_view>

namespace guestpulse::platform {

// "is a FIFO, not a regular file"; `kind` reads "a FIFO", "a named pipe", "a directory".
std::string notRegularFileError(std::string_view kind);

// "is larger than the limit of 1 KiB (2000 bytes or more)".
std::string fileTooLargeError(std::size_t maxBytes, std::size_t size);

}  // namespace guestpulse::platform
