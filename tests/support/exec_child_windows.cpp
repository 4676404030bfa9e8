// A child program for the Windows exec tests: each argument is one step, run in order.
//   print:TEXT      write TEXT and a newline to stdout
//   stderr:TEXT     write TEXT and a newline to stderr
//   flood:N         write N bytes of 'x' to stdout
//   sleep:MS        sleep MS milliseconds
//   exit:N          exit with code N
//   crash           die of an access violation (exit status 0xC0000005)
//   spawn:S1;S2     start this program again with steps S1 S2 (a grandchild sharing
//                   stdout), without waiting for it
//   detach:S1;S2    start this program again with steps S1 S2 as a daemon would: no
//                   console, a process group of its own, no inherited handles, and
//                   asking to leave the job (without it when that is refused)
//   pid-file:PATH   write this process's id to PATH
//   beat:PATH       append a byte to PATH every 100 ms, for at most 60 s: a heartbeat a
//                   test on the host can watch

#include <windows.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int wmain(int argc, wchar_t** argv) {
  for (int i = 1; i < argc; ++i) {
    std::wstring step = argv[i];
    auto colon = step.find(L':');
    std::wstring verb = step.substr(0, colon);
    std::wstring value = colon == std::wstring::npos ? L"" : step.substr(colon + 1);
    if (verb == L"print") {
      std::fwprintf(stdout, L"%ls\n", value.c_str());
      std::fflush(stdout);
    } else if (verb == L"stderr") {
      std::fwprintf(stderr, L"%ls\n", value.c_str());
      std::fflush(stderr);
    } else if (verb == L"flood") {
      long n = std::wcstol(value.c_str(), nullptr, 10);
      std::string chunk(4096, 'x');
      while (n > 0) {
        long now = n < 4096 ? n : 4096;
        std::fwrite(chunk.data(), 1, static_cast<std::size_t>(now), stdout);
        n -= now;
      }
      std::fflush(stdout);
    } else if (verb == L"sleep") {
      ::Sleep(static_cast<DWORD>(std::wcstol(value.c_str(), nullptr, 10)));
    } else if (verb == L"exit") {
      return static_cast<int>(std::wcstol(value.c_str(), nullptr, 10));
    } else if (verb == L"crash") {
      ::RaiseException(EXCEPTION_ACCESS_VIOLATION, EXCEPTION_NONCONTINUABLE, 0, nullptr);
    } else if (verb == L"spawn" || verb == L"detach") {
      wchar_t self[MAX_PATH];
      ::GetModuleFileNameW(nullptr, self, MAX_PATH);
      std::wstring line = L"\"" + std::wstring(self) + L"\"";
      std::size_t start = 0;
      while (start <= value.size()) {
        std::size_t semi = value.find(L';', start);
        if (semi == std::wstring::npos) semi = value.size();
        line += L" \"" + value.substr(start, semi - start) + L"\"";
        start = semi + 1;
      }
      STARTUPINFOW startup{};
      startup.cb = sizeof startup;
      PROCESS_INFORMATION info{};
      if (verb == L"spawn") {
        // Inherits stdout: the grandchild holds the output pipe open.
        if (!::CreateProcessW(nullptr, line.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr,
                              &startup, &info))
          return 99;
      } else {
        const DWORD detached = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP;
        if (!::CreateProcessW(nullptr, line.data(), nullptr, nullptr, FALSE,
                              detached | CREATE_BREAKAWAY_FROM_JOB, nullptr, nullptr, &startup,
                              &info)) {
          std::fwprintf(stdout, L"breakaway refused (%lu)\n", ::GetLastError());
          std::fflush(stdout);
          if (!::CreateProcessW(nullptr, line.data(), nullptr, nullptr, FALSE, detached, nullptr,
                                nullptr, &startup, &info))
            return 99;
        }
      }
      ::CloseHandle(info.hThread);
      ::CloseHandle(info.hProcess);
    } else if (verb == L"beat") {
      for (int n = 0; n < 600; ++n) {
        if (FILE* f = _wfopen(value.c_str(), L"ab")) {
          std::fputc('.', f);
          std::fclose(f);
        }
        ::Sleep(100);
      }
    } else if (verb == L"pid-file") {
      FILE* f = _wfopen(value.c_str(), L"w");
      if (!f) return 98;
      std::fprintf(f, "%lu", ::GetCurrentProcessId());
      std::fclose(f);
    }
  }
  return 0;
}
