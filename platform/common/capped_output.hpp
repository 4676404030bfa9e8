#pragma once
// A command's output as the exec supervisors keep it: the first `limit` bytes, and
// whether more came.

#include <algorithm>
#include <cstddef>
#include <string>

namespace guestpulse::platform {

// Appends what still fits of `data` under `limit` bytes in all; sets `truncated` when
// some of it did not.
inline void appendCapped(std::string& out, bool& truncated, std::size_t limit, const char* data,
                         std::size_t size) {
  std::size_t room = limit - std::min(limit, out.size());
  std::size_t keep = std::min(size, room);
  out.append(data, keep);
  if (keep < size) truncated = true;
}

}  // namespace guestpulse::platform
