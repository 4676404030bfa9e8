// Crash-safe replacement on NTFS: write a temporary file beside the target, flush it,
// then MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH), which renames over the old file and,
// with WRITE_THROUGH, returns only once the rename is on disk.

#include <windows.h>

#include <algorithm>
#include <filesystem>

#include "platform/files.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {

std::string replaceFileAtomically(const std::string& path, const std::string& content,
                                  bool durable) {
  const std::string temporary = path + ".tmp";
  const std::wstring wideTemporary = win::toWide(temporary);
  win::Handle file(::CreateFileW(wideTemporary.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                                 FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!file) return "open " + temporary + ": " + win::lastErrorText();
  std::size_t done = 0;
  while (done < content.size()) {
    const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(content.size() - done, 1 << 20));
    DWORD written = 0;
    if (!::WriteFile(file.get(), content.data() + done, chunk, &written, nullptr) || written == 0) {
      std::string error = "write " + temporary + ": " + win::lastErrorText();
      file.reset();
      ::DeleteFileW(wideTemporary.c_str());
      return error;
    }
    done += written;
  }
  if (durable && !::FlushFileBuffers(file.get())) {
    std::string error = "flush " + temporary + ": " + win::lastErrorText();
    file.reset();
    ::DeleteFileW(wideTemporary.c_str());
    return error;
  }
  file.reset();
  DWORD flags = MOVEFILE_REPLACE_EXISTING | (durable ? MOVEFILE_WRITE_THROUGH : 0);
  if (!::MoveFileExW(wideTemporary.c_str(), win::toWide(path).c_str(), flags)) {
    std::string error = "rename to " + path + ": " + win::lastErrorText();
    ::DeleteFileW(wideTemporary.c_str());
    return error;
  }
  return {};
}

// The directory inherits %ProgramData%'s ACL: administrators and SYSTEM may write, users
// may read. The service runs as LocalSystem, so nothing needs changing here.
std::string ensureDirectory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(win::toWide(path)), ec);
  if (ec) return "create " + path + ": " + ec.message();
  return {};
}

}  // namespace guestpulse::platform
