// Crash-safe replacement on NTFS: write a temporary file beside the target, flush it,
// then MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH), which renames over the old file and,
// with WRITE_THROUGH, returns only once the rename is on disk.
//
// Reading outside files: what is not a file on disk is refused before it is opened where
// its name or its attributes say so (a pipe or a device name, a directory), and after
// opening by the handle's type (a link that leads to a pipe or a device).

#include <windows.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cwctype>
#include <filesystem>

#include "platform/common/file_read_text.hpp"
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

namespace {

bool startsWithNoCase(std::wstring_view text, std::wstring_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::towlower(text[i]) != std::towlower(prefix[i])) return false;
  return true;
}

bool isDriveSpec(std::wstring_view text) {
  return text.size() >= 2 && std::iswalpha(text[0]) && text[1] == L':';
}

// What the name alone says: "a named pipe" for \\.\pipe\x, "a device (COM1)" for
// \\.\COM1 or a DOS device name in any folder and with any extension (NUL, CON.txt,
// C:\dir\aux.yaml), or "" for a name that leaves it to the file system. Opening a pipe
// would take one of its server's instances, and opening a port has effects of its own.
std::string kindFromName(std::wstring path) {
  std::replace(path.begin(), path.end(), L'/', L'\\');
  std::wstring_view rest = path;
  if (startsWithNoCase(rest, L"\\\\.\\") || startsWithNoCase(rest, L"\\\\?\\")) {
    const bool deviceNamespace = rest[2] == L'.';
    rest.remove_prefix(4);
    if (startsWithNoCase(rest, L"pipe\\")) return "a named pipe";
    if (startsWithNoCase(rest, L"mailslot\\")) return "a mailslot";
    // \\.\C:\dir\file is a file; anything else in the device namespace is a device.
    if (deviceNamespace && !(isDriveSpec(rest) && rest.size() > 2 && rest[2] == L'\\'))
      return "a device (" + win::toUtf8(rest) + ")";
  }
  // The last component, without its extension and trailing spaces: "COM1 .yaml" is COM1.
  std::size_t slash = rest.find_last_of(L"\\:");
  std::wstring_view base = slash == std::wstring_view::npos ? rest : rest.substr(slash + 1);
  base = base.substr(0, base.find(L'.'));
  while (!base.empty() && base.back() == L' ') base.remove_suffix(1);
  static constexpr std::array<std::wstring_view, 6> kNames{L"CON", L"PRN",    L"AUX",
                                                           L"NUL", L"CONIN$", L"CONOUT$"};
  bool device = std::any_of(kNames.begin(), kNames.end(), [&](std::wstring_view name) {
    return base.size() == name.size() && startsWithNoCase(base, name);
  });
  // COM0..COM9 and LPT0..LPT9, also with the superscript digits Windows accepts there.
  if (base.size() == 4 && (startsWithNoCase(base, L"COM") || startsWithNoCase(base, L"LPT")))
    device = (base[3] >= L'0' && base[3] <= L'9') || base[3] == L'\u00B9' || base[3] == L'\u00B2' ||
             base[3] == L'\u00B3';
  if (device) return "a device (" + win::toUtf8(base) + ")";
  return {};
}

const char* kindOfHandle(DWORD type) {
  switch (type) {
    case FILE_TYPE_PIPE:
      return "a named pipe";
    case FILE_TYPE_CHAR:
      return "a character device";
    default:
      return "not a plain file";
  }
}

// A missing file (or folder on the way) in the C runtime's words, as on Linux and as
// the agent said it before reads went through the Win32 API; anything else in Windows'.
void openFailed(FileRead& out, DWORD error) {
  out.missing = error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND;
  out.error = out.missing ? "No such file or directory" : win::errorText(error);
}

}  // namespace

FileRead readRegularFile(const std::string& path, std::size_t maxBytes) {
  FileRead out;
  const std::wstring wide = win::toWide(path);
  if (std::string kind = kindFromName(wide); !kind.empty()) {
    out.error = notRegularFileError(kind);
    return out;
  }
  // Attributes by name, without opening: a directory, and the size of a plain file.
  WIN32_FILE_ATTRIBUTE_DATA attributes{};
  if (!::GetFileAttributesExW(wide.c_str(), GetFileExInfoStandard, &attributes)) {
    openFailed(out, ::GetLastError());
    return out;
  }
  if (attributes.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
    out.error = notRegularFileError("a directory");
    return out;
  }
  auto tooLarge = [&](std::uint64_t size) {
    out.tooLarge = true;
    out.error = fileTooLargeError(maxBytes, static_cast<std::size_t>(size));
  };
  // A link's own size says nothing about its target's: that is checked on the handle.
  if (!(attributes.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    const std::uint64_t size =
        (std::uint64_t{attributes.nFileSizeHigh} << 32) | attributes.nFileSizeLow;
    if (size > maxBytes) {
      tooLarge(size);
      return out;
    }
  }
  // Shared for writing and deleting, so a writer (or replaceFileAtomically's rename) is
  // never refused because of this read. OPEN_NO_RECALL: a file moved to remote storage is
  // not fetched back. SQOS identification: should a link lead to a pipe after all, its
  // server cannot act as this service's account.
  win::Handle file(
      ::CreateFileW(wide.c_str(), GENERIC_READ,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_SEQUENTIAL_SCAN | FILE_FLAG_OPEN_NO_RECALL |
                        SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                    nullptr));
  if (!file) {
    openFailed(out, ::GetLastError());
    return out;
  }
  const DWORD type = ::GetFileType(file.get());
  BY_HANDLE_FILE_INFORMATION info{};
  if (type != FILE_TYPE_DISK) {
    out.error = notRegularFileError(kindOfHandle(type));
    return out;
  }
  if (!::GetFileInformationByHandle(file.get(), &info)) {
    out.error = win::lastErrorText();
    return out;
  }
  if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
    out.error = notRegularFileError("a directory");
    return out;
  }
  const std::uint64_t size = (std::uint64_t{info.nFileSizeHigh} << 32) | info.nFileSizeLow;
  if (size > maxBytes) {
    tooLarge(size);
    return out;
  }
  std::string text;
  text.reserve(static_cast<std::size_t>(size));
  char buffer[16384];
  for (;;) {
    DWORD got = 0;
    if (!::ReadFile(file.get(), buffer, sizeof buffer, &got, nullptr)) {
      out.error = win::lastErrorText();
      return out;
    }
    if (got == 0) break;
    text.append(buffer, got);
    if (text.size() > maxBytes) {  // it grew after the size was read
      tooLarge(text.size());
      return out;
    }
  }
  out.content = std::move(text);
  return out;
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
