#include <catch2/catch.hpp>

#include "platform/linux/firewall_scan.hpp"

using namespace guestpulse::platform;

namespace {

const char* kMds = "169.254.169.254";

// nft -j list ruleset, following libnftables-json(5).
const char* kNftJson = R"({"nftables": [
  {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
  {"table": {"family": "inet", "name": "filter", "handle": 1}},
  {"chain": {"family": "inet", "table": "filter", "name": "output", "handle": 1,
             "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}},
  {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 2,
             "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
  {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 3,
            "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                                "right": "169.254.169.254"}}, {"drop": null}]}},
  {"rule": {"family": "inet", "table": "filter", "chain": "output", "handle": 4,
            "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                                "right": "169.254.169.254"}},
                     {"reject": {"type": "tcp reset"}}]}},
  {"rule": {"family": "inet", "table": "filter", "chain": "output", "handle": 5,
            "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}},
                                "right": "::1"}}, {"drop": null}]}}
]})";

}  // namespace

TEST_CASE("nft: a reject rule on the output hook", "[inspector][firewall]") {
  auto scan = scanNftRuleset(kNftJson, kMds);
  REQUIRE(scan.parsed);
  CHECK(scan.tables == std::vector<std::string>{"inet filter"});
  REQUIRE(scan.blocking.size() == 1);
  const auto& f = scan.blocking[0];
  CHECK(f.tool == "nft");
  CHECK(f.table == "inet filter");
  CHECK(f.chain == "output");
  CHECK(f.action == FirewallAction::Reject);
  CHECK(f.destination == "169.254.169.254");
  CHECK(f.rejectWith == "tcp reset");
  CHECK_FALSE(f.conditional);
  CHECK(f.ruleText == "ip daddr 169.254.169.254 reject with tcp reset");
  CHECK(f.fixCommand == "nft delete rule inet filter output handle 4");
}

TEST_CASE("nft: prefixes, sets, ports, owners, jumps and policies", "[inspector][firewall]") {
  const char* json = R"({"nftables": [
    {"metainfo": {"json_schema_version": 1}},
    {"table": {"family": "inet", "name": "fw", "handle": 7}},
    {"chain": {"family": "inet", "table": "fw", "name": "out", "handle": 1, "type": "filter",
               "hook": "output", "prio": 0, "policy": "drop"}},
    {"chain": {"family": "inet", "table": "fw", "name": "md", "handle": 2}},
    {"rule": {"family": "inet", "table": "fw", "chain": "out", "handle": 3, "expr": [
      {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
      {"accept": null}]}},
    {"rule": {"family": "inet", "table": "fw", "chain": "out", "handle": 4, "expr": [
      {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "invalid"}}, {"drop": null}]}},
    {"rule": {"family": "inet", "table": "fw", "chain": "out", "handle": 5, "comment": "web", "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                 "right": {"set": [{"range": ["1.1.1.1", "1.1.1.9"]}, {"prefix": {"addr": "169.254.0.0", "len": 16}}]}}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                 "right": {"set": [80, {"range": [8000, 8080]}]}}},
      {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}},
    {"rule": {"family": "inet", "table": "fw", "chain": "out", "handle": 6, "expr": [
      {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                 "right": {"prefix": {"addr": "169.254.0.0", "len": 16}}}},
      {"jump": {"target": "md"}}]}},
    {"rule": {"family": "inet", "table": "fw", "chain": "md", "handle": 7, "expr": [
      {"match": {"op": "!=", "left": {"meta": {"key": "skuid"}}, "right": 0}},
      {"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]}},
    {"rule": {"family": "inet", "table": "fw", "chain": "out", "handle": 8, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "@blocked"}},
      {"drop": null}]}},
    {"rule": {"family": "inet", "table": "fw", "chain": "out", "handle": 9, "expr": [
      {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "169.254.169.254"}},
      {"drop": null}]}},
    {"table": {"family": "ip", "name": "nat", "handle": 2}},
    {"chain": {"family": "ip", "table": "nat", "name": "output", "handle": 1, "type": "nat",
               "hook": "output", "prio": -100, "policy": "accept"}},
    {"rule": {"family": "ip", "table": "nat", "chain": "output", "handle": 2, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "169.254.169.254"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}},
      {"dnat": {"addr": "127.0.0.1", "port": 8080}}]}},
    {"table": {"family": "bridge", "name": "br", "handle": 3}}
  ]})";
  auto scan = scanNftRuleset(json, kMds);
  REQUIRE(scan.parsed);
  CHECK(scan.tables == std::vector<std::string>{"inet fw", "ip nat", "bridge br"});
  REQUIRE(scan.blocking.size() == 4);

  CHECK(scan.blocking[0].fixCommand == "nft delete rule inet fw out handle 5");
  CHECK(scan.blocking[0].ports == "{ 80, 8000-8080 }");  // 443 passes: conditional
  CHECK(scan.blocking[0].conditional);
  CHECK(scan.blocking[0].comment == "web");
  CHECK(scan.blocking[0].ruleText ==
        "ip daddr { 1.1.1.1-1.1.1.9, 169.254.0.0/16 } tcp dport { 80, 8000-8080 } counter drop "
        "comment \"web\"");

  CHECK(scan.blocking[1].chain == "md");
  CHECK(scan.blocking[1].otherConditions.empty());  // the jump to md was unconditional
  CHECK(scan.blocking[1].owner == "meta skuid != 0");
  CHECK(scan.blocking[1].rejectWith == "icmpx admin-prohibited");

  CHECK(scan.blocking[2].otherConditions == std::vector<std::string>{"ip daddr @blocked"});

  CHECK(scan.blocking[3].isPolicy);
  CHECK(scan.blocking[3].fixCommand ==
        "nft insert rule inet fw out ip daddr 169.254.169.254 accept");

  REQUIRE(scan.redirecting.size() == 1);
  CHECK(scan.redirecting[0].redirectTo == "127.0.0.1:8080");
  CHECK(scan.redirecting[0].fixCommand == "nft delete rule ip nat output handle 2");
}

TEST_CASE("nft: tables already listed by iptables-nft are skipped, bad JSON",
          "[inspector][firewall]") {
  const char* json = R"({"nftables": [
    {"table": {"family": "ip", "name": "filter", "handle": 1}},
    {"chain": {"family": "ip", "table": "filter", "name": "OUTPUT", "handle": 1, "type": "filter",
               "hook": "output", "prio": 0, "policy": "accept"}},
    {"rule": {"family": "ip", "table": "filter", "chain": "OUTPUT", "handle": 2, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "169.254.169.254"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}},
      {"xt": {"type": "match", "name": "owner"}}, {"counter": {"packets": 0, "bytes": 0}},
      {"xt": {"type": "target", "name": "REJECT"}}]}}
  ]})";
  auto all = scanNftRuleset(json, kMds);
  REQUIRE(all.blocking.size() == 1);
  CHECK(all.blocking[0].action == FirewallAction::Reject);
  CHECK(all.blocking[0].otherConditions == std::vector<std::string>{"xt match owner"});

  FirewallScanOptions options;
  options.skipTables = {"ip filter"};
  CHECK(scanNftRuleset(json, kMds, options).blocking.empty());

  auto empty = scanNftRuleset(R"({"nftables": [{"metainfo": {"json_schema_version": 1}}]})", kMds);
  CHECK(empty.parsed);
  CHECK(empty.blocking.empty());
  auto bad = scanNftRuleset("netlink: Error: cache initialization failed", kMds);
  CHECK_FALSE(bad.parsed);
  CHECK_THAT(bad.error, Catch::Contains("not JSON"));
  CHECK_FALSE(scanNftRuleset(R"({"other": []})", kMds).parsed);
}
