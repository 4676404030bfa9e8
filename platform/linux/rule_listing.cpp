// Runs the firewall listing tools for the Linux inspector (see rule_listing.hpp).

#include "platform/linux/rule_listing.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>
#include <thread>

namespace guestpulse::platform {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxOutputBytes = 16 << 20;

struct ListingRun {
  bool started = false;
  bool timedOut = false;
  bool truncated = false;
  int exitCode = -1;  // -1: killed by a signal, or reaped by someone else
  std::string out, err, error;
};

std::string errnoText(int error) { return std::system_category().message(error); }

std::string findTool(const std::string& name, const InspectorOptions& options) {
  for (const auto& dir : options.toolDirectories) {
    std::string path = dir + "/" + name;
    if (!dir.empty() && dir[0] == '/' && ::access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

// Not platform/exec.hpp's runCommand: that one merges stderr into stdout, and nft's JSON
// must arrive without its warnings mixed in.
// Runs `path` (argv[0] = its name, which xtables multi-call binaries dispatch on) with no
// shell, stdin from /dev/null, a fixed environment, in its own process group; collects
// both outputs until EOF or the deadline, then kills the group and always reaps.
ListingRun runListing(const std::string& path, const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout) {
  ListingRun result;
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    result.error = "pipe: " + errnoText(errno);
    for (int fd : {out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // nothing else of ours leaks in
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);  // the agent may block signals for Asio
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> argvStrings = args;
  std::vector<char*> argv;
  for (auto& a : argvStrings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string pathVar = "PATH=/usr/sbin:/usr/bin:/sbin:/bin", locale = "LC_ALL=C";
  char* envp[] = {pathVar.data(), locale.data(), nullptr};

  pid_t pid = -1;
  int spawnError = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  if (spawnError != 0) {
    result.error = "run " + path + ": " + errnoText(spawnError);
    ::close(out[0]);
    ::close(err[0]);
    return result;
  }
  result.started = true;

  const auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  char buffer[65536];
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timedOut = true;
      break;
    }
    int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      } else if (sinks[i]->size() < kMaxOutputBytes) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else {
        result.truncated = true;  // keep draining so the child is not stuck on a full pipe
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }

  // Both pipes closed: the child is exiting; give it until the deadline, then kill it.
  int status = 0;
  pid_t reaped = 0;
  while ((reaped = ::waitpid(pid, &status, WNOHANG)) == 0 && !result.timedOut &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (reaped == 0) {
    result.timedOut = true;
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while ((reaped = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
  }
  // ECHILD: SIGCHLD is ignored or another waiter reaped it; the output is still valid.
  if (reaped == pid && WIFEXITED(status)) result.exitCode = WEXITSTATUS(status);
  if (reaped < 0 && errno == ECHILD && !result.timedOut)
    result.exitCode = result.err.empty() ? 0 : 1;
  return result;
}

std::string firstLine(const std::string& text) {
  auto end = text.find('\n');
  std::string line = text.substr(0, end);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// Why a listing failed, in a form an operator can act on.
std::string failureText(const std::string& tool, const ListingRun& run,
                        std::chrono::milliseconds timeout) {
  if (!run.started) return run.error;
  if (run.timedOut) return tool + ": timeout after " + std::to_string(timeout.count()) + "ms";
  if (run.truncated) return tool + ": more than 16 MiB of output; not read";
  return tool + ": " +
         (run.err.empty() ? "exit status " + std::to_string(run.exitCode) : firstLine(run.err));
}

bool deniedForPrivileges(const std::string& failure) {
  return failure.find("ermission denied") != std::string::npos ||
         failure.find("not permitted") != std::string::npos;
}

// Which backend plain `iptables` uses here (Debian switches it with update-alternatives):
// fix commands must name the binary that sees the rule.
std::string defaultIptablesBackend(const InspectorOptions& options) {
  std::string iptables = findTool("iptables", options);
  char resolved[PATH_MAX] = {};
  if (iptables.empty() || !::realpath(iptables.c_str(), resolved)) return {};
  std::string target = resolved;
  if (target.find("legacy") != std::string::npos) return "legacy";
  if (target.find("nft") != std::string::npos) return "nf_tables";
  return {};
}

}  // namespace

ListingOutcome readFirewallListings(const InspectorOptions& options,
                                    const std::vector<std::string>& iptablesArgs,
                                    const ListingReaders& readers) {
  ListingOutcome outcome;
  const std::string backend = defaultIptablesBackend(options);
  std::vector<std::string> failures;

  auto absorb = [&](const std::string& source, const FirewallScan& scan) {
    outcome.sources.push_back(source);
    outcome.readable = true;
    for (const auto& note : scan.notes) outcome.problems.push_back(source + ": " + note);
  };
  auto listIptables = [&](const std::string& tool, const std::string& command) -> FirewallScan {
    std::string path = findTool(tool, options);
    if (path.empty()) return {};
    std::vector<std::string> args{tool};
    args.insert(args.end(), iptablesArgs.begin(), iptablesArgs.end());
    ListingRun run = runListing(path, args, options.commandTimeout);
    if (!run.started || run.timedOut || run.truncated || run.exitCode != 0) {
      failures.push_back(failureText(tool, run, options.commandTimeout));
      return {};
    }
    FirewallScan scan = readers.iptables(tool, command, run.out);
    if (scan.parsed)
      absorb(tool, scan);
    else
      failures.push_back(tool + ": " + scan.error);
    return scan;
  };

  FirewallScan nftBackend =
      listIptables("iptables-nft-save", backend == "legacy" ? "iptables-nft" : "iptables");
  listIptables("iptables-legacy-save",
               backend == "legacy" || backend.empty() ? "iptables" : "iptables-legacy");
  bool sawIptables = !findTool("iptables-nft-save", options).empty() ||
                     !findTool("iptables-legacy-save", options).empty();
  if (!sawIptables) nftBackend = listIptables("iptables-save", "iptables");

  if (std::string nft = findTool("nft", options); !nft.empty()) {
    ListingRun run = runListing(nft, {"nft", "-j", "list", "ruleset"}, options.commandTimeout);
    if (!run.started || run.timedOut || run.truncated || run.exitCode != 0) {
      failures.push_back(failureText("nft", run, options.commandTimeout));
    } else {
      // Rules made with iptables-nft live in nft tables too; report them once, in the
      // iptables syntax the operator used to create them.
      FirewallScan scan = readers.nft(run.out, nftTablesCoveredBy(nftBackend));
      if (scan.parsed)
        absorb("nft", scan);
      else
        failures.push_back("nft: " + scan.error);
    }
  }

  if (outcome.sources.empty() && failures.empty()) {
    std::string dirs;
    for (const auto& dir : options.toolDirectories) dirs += (dirs.empty() ? "" : ":") + dir;
    outcome.error = "no iptables-save or nft found in " + dirs + ": the firewall cannot be listed";
    return outcome;
  }
  if (!outcome.readable) {
    for (const auto& failure : failures) {
      outcome.error += (outcome.error.empty() ? "" : "; ") + failure;
    }
    if (std::any_of(failures.begin(), failures.end(), deniedForPrivileges)) {
      outcome.error += " (reading firewall rules needs root or CAP_NET_ADMIN)";
    }
    return outcome;
  }
  // Some listings worked and some did not: an unprivileged agent with CAP_NET_ADMIN reads
  // the nf_tables rules, but the legacy tables' names (/proc/net/ip_tables_names) are
  // readable by root only. Said, so a rule missing from the evidence is not a surprise.
  for (auto& failure : failures)
    if (deniedForPrivileges(failure) && failure.find("legacy") != std::string::npos)
      failure += " (legacy iptables tables are readable by root only)";
  outcome.problems.insert(outcome.problems.end(), failures.begin(), failures.end());
  return outcome;
}

}  // namespace guestpulse::platform
