#pragma once
// A child process for tests that run the real binaries (guestpulse, fake-mds, curl):
// spawned with extra environment variables, its output redirected to files. One
// implementation per OS (child_process_linux.cpp).

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace guestpulse::testing {

// Runs a program with extra environment variables; captures nothing (redirects to files).
// Move-only; a child still running when its ChildProcess goes away (a failed REQUIRE)
// is killed and reaped, so a failing test never leaves an agent behind.
struct ChildProcess {
  int pid = -1;
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept : pid(std::exchange(other.pid, -1)) {}
  ChildProcess& operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
      killHard();
      pid = std::exchange(other.pid, -1);
    }
    return *this;
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { killHard(); }
  static ChildProcess spawn(const std::vector<std::string>& argv,
                            const std::vector<std::string>& extraEnv,
                            const std::filesystem::path& stdoutFile,
                            const std::filesystem::path& stderrFile);
  bool signal(int sig) const;
  // Waits up to `timeout`; returns the exit code, or -1 on timeout (the child is left
  // running), or 128+signal when killed by a signal.
  int wait(std::chrono::milliseconds timeout);
  void killHard();
};

}  // namespace guestpulse::testing
