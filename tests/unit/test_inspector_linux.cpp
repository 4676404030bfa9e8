#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "agent/diagnosis/proxy_rules.hpp"
#include "platform/inspector.hpp"

using namespace guestpulse;
using namespace guestpulse::platform;
namespace fs = std::filesystem;

namespace {

// A private directory under /tmp, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "gp-inspector-XXXXXX").string();
    path = ::mkdtemp(pattern.data()) ? fs::path(pattern) : fs::path();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text, bool executable = false) {
    fs::path file = path / name;
    std::ofstream(file) << text;
    if (executable) fs::permissions(file, fs::perms::owner_all);
    return file.string();
  }
};

InspectorOptions optionsIn(const TempDir& dir) {
  InspectorOptions options;
  options.hostsPath = (dir.path / "hosts").string();
  options.resolverPath = (dir.path / "resolv.conf").string();
  options.resolvedUpstreamPath = (dir.path / "upstream.conf").string();
  options.environmentFilePath = (dir.path / "environment").string();
  options.toolDirectories = {dir.path.string()};
  return options;
}

}  // namespace

TEST_CASE("inspector: hosts entry from a file", "[inspector][linux]") {
  TempDir dir;
  dir.write("hosts",
            "127.0.0.1 localhost\n"
            "169.254.169.254\tmetadata.google.internal metadata  # Added by Google\n"
            "169.254.169.254metadata.google.internal\n");
  auto inspector = makeInspector(optionsIn(dir));
  auto facts = inspector->hostsEntry("Metadata.Google.Internal.");
  CHECK(facts.readable);
  CHECK(facts.path == (dir.path / "hosts").string());
  CHECK(facts.addresses == std::vector<std::string>{"169.254.169.254"});
  CHECK(facts.matchingLines ==
        std::vector<std::string>{
            "2: 169.254.169.254\tmetadata.google.internal metadata  # Added by Google"});
  REQUIRE(facts.invalidLines.size() == 1);
  CHECK_THAT(facts.invalidLines[0], Catch::StartsWith("3: "));
  CHECK(facts.entryCount == 2);

  CHECK(inspector->hostsEntry("absent.example").addresses.empty());

  fs::remove(dir.path / "hosts");
  auto missing = inspector->hostsEntry("metadata.google.internal");
  CHECK_FALSE(missing.readable);
  CHECK_THAT(missing.error, Catch::Contains("No such file or directory"));
}

TEST_CASE("inspector: resolver, plain and behind systemd-resolved", "[inspector][linux]") {
  TempDir dir;
  dir.write("resolv.conf", "search c.p.internal google.internal\nnameserver 169.254.169.254\n");
  auto inspector = makeInspector(optionsIn(dir));
  auto plain = inspector->resolver();
  CHECK(plain.readable);
  CHECK_FALSE(plain.localStub);
  CHECK(plain.linkTarget.empty());
  CHECK(plain.effectiveNameservers() == std::vector<std::string>{"169.254.169.254"});
  CHECK(plain.search == std::vector<std::string>{"c.p.internal", "google.internal"});

  dir.write("stub-resolv.conf", "nameserver 127.0.0.53\noptions edns0 trust-ad\n");
  fs::remove(dir.path / "resolv.conf");
  fs::create_symlink("stub-resolv.conf", dir.path / "resolv.conf");
  auto stubNoUpstream = inspector->resolver();
  CHECK(stubNoUpstream.localStub);
  CHECK(stubNoUpstream.stubName == "systemd-resolved");
  CHECK(stubNoUpstream.linkTarget == "stub-resolv.conf");
  CHECK_FALSE(stubNoUpstream.upstreamReadable);
  CHECK_THAT(stubNoUpstream.upstreamError, Catch::Contains("systemd-resolved"));
  CHECK(stubNoUpstream.effectiveNameservers().empty());

  dir.write("upstream.conf",
            "nameserver 169.254.169.254\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"
            "nameserver 10.0.0.4\nsearch .\n");
  auto stub = inspector->resolver();
  CHECK(stub.upstreamReadable);
  CHECK(stub.nameservers == std::vector<std::string>{"127.0.0.53"});
  CHECK(stub.effectiveNameservers() ==
        std::vector<std::string>{"169.254.169.254", "10.0.0.2", "10.0.0.3", "10.0.0.4"});

  fs::remove(dir.path / "stub-resolv.conf");  // the link now dangles, as when resolved is gone
  auto dangling = inspector->resolver();
  CHECK_FALSE(dangling.readable);
  CHECK_THAT(dangling.error, Catch::Contains("a link to stub-resolv.conf"));
}

TEST_CASE("inspector: route to loopback and bad input", "[inspector][linux]") {
  auto inspector = makeInspector();
  auto route = inspector->routeTo("127.0.0.1");
  INFO(route.error);
  REQUIRE(route.found());
  CHECK(route.interface == "lo");
  CHECK(route.local);
  CHECK_FALSE(route.table.empty());  // "main": the kernel merges local into main without rules
  CHECK(route.source == "127.0.0.1");
  CHECK_FALSE(route.directlyConnected);

  auto bad = inspector->routeTo("169.254.169.254.1");
  CHECK(bad.status == RouteStatus::LookupFailed);
  CHECK_THAT(bad.error, Catch::Contains("not an IPv4 address"));
  CHECK(std::string(toString(RouteStatus::Blackhole)) == "blackhole");
}

TEST_CASE("inspector: routes in a fresh network namespace (root only)", "[inspector][linux]") {
  // Runs in a child so the test process keeps its namespace. Skips without privileges.
  int pipeFds[2];
  REQUIRE(::pipe(pipeFds) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipeFds[0]);
    std::string answer = "skip";
    bool tooled = ::access("/usr/sbin/ip", X_OK) == 0 || ::access("/sbin/ip", X_OK) == 0 ||
                  ::access("/usr/bin/ip", X_OK) == 0 || ::access("/bin/ip", X_OK) == 0;
    if (tooled && ::unshare(CLONE_NEWNET) == 0 &&
        std::system("ip link set lo up && ip route add blackhole 10.1.0.0/16 && "
                    "ip route add unreachable 10.2.0.0/16 && ip route add prohibit 10.3.0.0/16") ==
            0) {
      auto inspector = makeInspector();
      answer.clear();
      for (const char* ip : {"169.254.169.254", "10.1.0.1", "10.2.0.1", "10.3.0.1"}) {
        answer += std::string(toString(inspector->routeTo(ip).status)) + ";";
      }
    }
    (void)!::write(pipeFds[1], answer.data(), answer.size());
    ::_exit(0);
  }
  ::close(pipeFds[1]);
  std::string answer;
  char buffer[256];
  ssize_t n;
  while ((n = ::read(pipeFds[0], buffer, sizeof buffer)) > 0) answer.append(buffer, n);
  ::close(pipeFds[0]);
  ::waitpid(child, nullptr, 0);
  if (answer == "skip") {
    WARN("skipped: cannot create a network namespace here (needs root and the ip tool)");
    return;
  }
  CHECK(answer == "no route;blackhole;unreachable;prohibited;");
}

TEST_CASE("inspector: proxy environment from the process and /etc/environment",
          "[inspector][linux]") {
  TempDir dir;
  dir.write("environment",
            "PATH=/usr/bin\nhttp_proxy=\"http://proxy.corp:3128\"\nno_proxy=169.254.169.254\n");
  ::setenv("GUESTPULSE_TEST_PROXY", "http://test:1", 1);
  auto facts = makeInspector(optionsIn(dir))->proxyEnvironment();
  ::unsetenv("GUESTPULSE_TEST_PROXY");
  REQUIRE(facts.sources.size() == 2);
  CHECK(facts.sources[0].name == "process environment");
  CHECK(facts.sources[0].variables.at("GUESTPULSE_TEST_PROXY") == "http://test:1");
  CHECK(facts.sources[0].variables.count("PATH") == 0);
  CHECK(facts.sources[1].readable);
  CHECK(facts.sources[1].variables ==
        EnvironmentMap{{"http_proxy", "http://proxy.corp:3128"}, {"no_proxy", "169.254.169.254"}});
  auto proxied = ProxyEnvironment(facts.sources[1].variables).metadataRequestsThroughProxy();
  REQUIRE(proxied.size() == 1);
  CHECK(proxied[0].host == "metadata.google.internal");
}

TEST_CASE("inspector: firewall listing through the tools (fake tools)", "[inspector][linux]") {
  TempDir dir;
  auto options = optionsIn(dir);
  dir.write("iptables-nft-save",
            "#!/bin/sh\n"
            "echo '# Generated by iptables-nft-save v1.8.9 (nf_tables)'\n"
            "echo '*filter'\necho ':OUTPUT ACCEPT [0:0]'\n"
            "echo '-A OUTPUT -d 169.254.169.254/32 -j DROP'\necho COMMIT\n",
            true);
  dir.write(
      "nft",
      "#!/bin/sh\n"
      "[ \"$*\" = '-j list ruleset' ] || exit 9\n"
      "cat <<'EOF'\n"
      R"({"nftables": [{"table": {"family": "ip", "name": "filter", "handle": 1}},)"
      R"({"chain": {"family": "ip", "table": "filter", "name": "OUTPUT", "hook": "output", "policy": "accept"}},)"
      R"({"rule": {"family": "ip", "table": "filter", "chain": "OUTPUT", "handle": 2, "expr": [)"
      R"({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "169.254.169.254"}}, {"drop": null}]}},)"
      R"({"table": {"family": "inet", "name": "f", "handle": 2}},)"
      R"({"chain": {"family": "inet", "table": "f", "name": "o", "hook": "output", "policy": "accept"}},)"
      R"({"rule": {"family": "inet", "table": "f", "chain": "o", "handle": 3, "expr": [{"reject": null}]}}]})"
      "\nEOF\n",
      true);
  auto facts = makeInspector(options)->firewall("169.254.169.254");
  INFO(facts.error);
  REQUIRE(facts.readable);
  CHECK(facts.sources == std::vector<std::string>{"iptables-nft-save", "nft"});
  REQUIRE(facts.blocking.size() == 2);  // the ip filter rule once, through iptables
  CHECK(facts.blocking[0].tool == "iptables");
  CHECK(facts.blocking[0].fixCommand == "iptables -D OUTPUT -d 169.254.169.254/32 -j DROP");
  CHECK(facts.blocking[1].tool == "nft");
  CHECK(facts.blocking[1].fixCommand == "nft delete rule inet f o handle 3");

  // A tool that is refused: the reason and the hint, nothing made up.
  dir.write("iptables-nft-save",
            "#!/bin/sh\necho 'iptables-nft-save v1.8.9 (nf_tables): Could not fetch rule set "
            "generation id: Permission denied (you must be root)' >&2\nexit 4\n",
            true);
  fs::remove(dir.path / "nft");
  auto refused = makeInspector(options)->firewall("169.254.169.254");
  CHECK_FALSE(refused.readable);
  CHECK_THAT(refused.error, Catch::Contains("Permission denied (you must be root)"));
  CHECK_THAT(refused.error, Catch::Contains("CAP_NET_ADMIN"));

  // A hung tool is killed at the timeout.
  dir.write("iptables-nft-save", "#!/bin/sh\nsleep 30\n", true);
  options.commandTimeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto hung = makeInspector(options)->firewall("169.254.169.254");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK_FALSE(hung.readable);
  CHECK_THAT(hung.error, Catch::Contains("timeout"));

  fs::remove(dir.path / "iptables-nft-save");
  auto none = makeInspector(options)->firewall("169.254.169.254");
  CHECK_FALSE(none.readable);
  CHECK_THAT(none.error, Catch::Contains("no iptables-save or nft found"));
}

TEST_CASE("inspector: firewall on this machine has a clear shape", "[inspector][linux]") {
  auto facts = makeInspector()->firewall("169.254.169.254");
  CHECK(facts.destination == "169.254.169.254");
  if (facts.readable) {
    CHECK_FALSE(facts.sources.empty());
    for (const auto& f : facts.blocking) {
      CHECK_FALSE(f.ruleText.empty());
      CHECK_FALSE(f.fixCommand.empty());
    }
  } else {
    CHECK_FALSE(facts.error.empty());
  }
}

TEST_CASE("inspector: nat interception through the tools (fake tools)", "[inspector][linux]") {
  TempDir dir;
  auto options = optionsIn(dir);
  options.socketTableDirectory = dir.path.string();
  dir.write("tcp",
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
            "   0: 0100007F:3A98 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1337 "
            "0 4242 1\n");
  dir.write("tcp6", "  sl  local_address remote_address st\n");
  dir.write("iptables-nft-save",
            "#!/bin/sh\n"
            "[ \"$*\" = '-t nat' ] || exit 9\n"
            "echo '# Generated by iptables-nft-save v1.8.9 (nf_tables)'\n"
            "echo '*nat'\necho ':OUTPUT ACCEPT [0:0]'\necho ':ISTIO_OUTPUT - [0:0]'\n"
            "echo '-A OUTPUT -p tcp -j ISTIO_OUTPUT'\n"
            "echo '-A ISTIO_OUTPUT -j REDIRECT --to-ports 15001'\necho COMMIT\n",
            true);
  InterceptionQuery query;
  query.probeAddress = "10.1.2.3";
  auto facts = makeInspector(options)->interception(query);
  INFO(facts.error);
  REQUIRE(facts.readable);
  CHECK(facts.sources == std::vector<std::string>{"iptables-nft-save"});
  REQUIRE(facts.proxyUid);
  CHECK(*facts.proxyUid == 1337);
  CHECK(facts.proxyUidSource == "the owner of the socket listening on 127.0.0.1:15000");
  CHECK(facts.ownUid == ::geteuid());
  CHECK(facts.natChains == std::vector<std::string>{"ISTIO_OUTPUT"});
  REQUIRE(facts.outbound.size() == 1);
  CHECK(facts.outbound[0].proxyTraffic == Reach::Yes);
  CHECK(facts.outbound[0].probeTraffic == Reach::Yes);
  CHECK(facts.outbound[0].exemptCommand ==
        "iptables -t nat -I OUTPUT 1 -m owner --uid-owner 1337 -j RETURN");

  // Nothing listens: the uid is unknown, and the facts say why.
  dir.write("tcp", "  sl  local_address rem_address   st\n");
  auto unknown = makeInspector(options)->interception(query);
  CHECK_FALSE(unknown.proxyUid);
  CHECK_THAT(unknown.proxyUidSource, Catch::Contains("nothing listens on port 15000 or 15001"));

  fs::remove(dir.path / "iptables-nft-save");
  auto none = makeInspector(options)->interception(query);
  CHECK_FALSE(none.readable);
  CHECK_THAT(none.error, Catch::Contains("no iptables-save or nft found"));
}
