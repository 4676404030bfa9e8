#include <windows.h>

#include <vector>

#include "platform/process.hpp"
#include "platform/windows/win_text.hpp"

namespace guestpulse::platform {

// Windows has no SIGPIPE: a write to a closed pipe or socket already fails with an error.
void ignoreBrokenPipe() {}

bool stdoutIsTerminal() {
  DWORD mode = 0;
  return ::GetConsoleMode(::GetStdHandle(STD_OUTPUT_HANDLE), &mode) != 0;
}

std::string currentExecutable() {
  std::vector<wchar_t> buffer(MAX_PATH);
  for (int i = 0; i < 6; ++i) {
    DWORD length = ::GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size()));
    if (length == 0) return {};
    if (length < buffer.size()) return win::toUtf8(std::wstring_view(buffer.data(), length));
    buffer.resize(buffer.size() * 2);  // truncated: a long path
  }
  return {};
}

}  // namespace guestpulse::platform
