#pragma once
// Small helpers every Windows implementation file shares: UTF-8 <-> UTF-16 (the agent's
// strings are UTF-8, the wide Win32 API takes UTF-16), the text of a Win32 error code,
// and an owning HANDLE. Only platform/windows/ includes this.

#include <windows.h>

#include <string>
#include <string_view>

namespace guestpulse::platform::win {

std::wstring toWide(std::string_view utf8);
std::string toUtf8(std::wstring_view wide);

// "The system cannot find the file specified. (error 2)"; from FormatMessageW in
// English when the system has it, otherwise the number alone.
std::string errorText(DWORD error);
inline std::string lastErrorText() { return errorText(::GetLastError()); }

// The value of an environment variable, or "" when it is unset.
std::string environmentVariable(const wchar_t* name);

// A HANDLE closed on destruction. Both null and INVALID_HANDLE_VALUE count as empty.
class Handle {
 public:
  Handle() = default;
  explicit Handle(HANDLE h) : h_(h) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : h_(other.release()) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  HANDLE get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr && h_ != INVALID_HANDLE_VALUE; }
  HANDLE release() {
    HANDLE h = h_;
    h_ = nullptr;
    return h;
  }
  void reset(HANDLE h = nullptr) {
    if (*this) ::CloseHandle(h_);
    h_ = h;
  }

 private:
  HANDLE h_ = nullptr;
};

}  // namespace guestpulse::platform::win
