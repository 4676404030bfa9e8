#include <catch2/catch.hpp>

#include "agent/diagnosis/envoy_admin.hpp"

using namespace guestpulse;

namespace {

// A v3 /config_dump trimmed to its shape: bootstrap, clusters, then listeners (Envoy's
// order), one listener active, one warming with a rejected update.
const char* kDumpV3 = R"({
 "configs": [
  {"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
   "bootstrap": {"node": {"id": "projects/123/networks/default/nodes/abc"},
                 "admin": {"address": {"socket_address": {"port_value": 15000}}}}},
  {"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
   "dynamic_active_clusters": [{"cluster": {"name": "c1",
      "metadata": {"filter_metadata": {"x": {"active_state": {}, "name": "spoof"}}}}}]},
  {"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
   "version_info": "1",
   "dynamic_listeners": [
    {"name": "td-interception", "active_state": {"version_info": "1",
       "listener": {"name": "td-interception", "address": {}}}},
    {"name": "td-inbound-8080", "warming_state": {"listener": {}},
     "error_state": {"details": "Error adding/updating listener(s) td-inbound-8080: address in use"}}
   ]}
 ]
})";

ConfigDumpListeners scan(std::string_view body, std::size_t pieceSize = 1 << 20,
                         bool* stoppedEarly = nullptr) {
  ConfigDumpScanner scanner;
  bool more = true;
  std::size_t at = 0;
  while (more && at < body.size()) {
    more = scanner.feed(body.substr(at, pieceSize));
    at += pieceSize;
  }
  if (more) scanner.finish();
  if (stoppedEarly) *stoppedEarly = at < body.size();
  return scanner.result();
}

}  // namespace

TEST_CASE("envoy admin: the version and state of /server_info", "[envoy]") {
  auto v = parseEnvoyVersion(
      R"({"version": "dc78069b10cc94fa07bb974b7101dd1b42e2e7bf/1.15.1-dev/Clean/RELEASE/BoringSSL",
          "state": "LIVE", "hot_restart_version": "11.104"})");
  REQUIRE(v);
  CHECK(v->major == 1);
  CHECK(v->minor == 15);
  CHECK(v->patch == 1);
  CHECK(v->text == "1.15.1-dev");
  CHECK_FALSE(v->olderThan(1, 9, 1));

  auto old = parseEnvoyVersion(
      "envoy 5d25f466c3410c0dfa735d7d4358beb76b2da507/1.7.0/Clean/RELEASE "
      "live 1 1 0\n");
  REQUIRE(old);
  CHECK(old->text == "1.7.0");
  CHECK(old->olderThan(1, 9, 1));
  auto patchOlder = parseEnvoyVersion(R"({"version": "abc/1.9.0/Clean/RELEASE/BoringSSL"})");
  REQUIRE(patchOlder);
  CHECK(patchOlder->olderThan(1, 9, 1));
  CHECK_FALSE(parseEnvoyVersion(R"({"version": "abc/1.9.1/Clean"})")->olderThan(1, 9, 1));

  CHECK_FALSE(parseEnvoyVersion(""));
  CHECK_FALSE(parseEnvoyVersion("<html>not envoy</html>"));
  CHECK_FALSE(parseEnvoyVersion(R"({"version": "unknown"})"));
  CHECK(serverInfoState(R"({"state": "PRE_INITIALIZING"})") == "PRE_INITIALIZING");
  CHECK(serverInfoState("not json").empty());
}

TEST_CASE("envoy admin: listeners of a v3 config_dump, in any piece size", "[envoy]") {
  for (std::size_t piece : {std::size_t(1) << 20, std::size_t(1), std::size_t(7)}) {
    INFO("piece size " << piece);
    bool early = false;
    auto out = scan(kDumpV3, piece, &early);
    CHECK(out.active == 1);
    CHECK(out.firstActive == "td-interception");
    if (piece < 100) CHECK(early);  // an active listener with its name: nothing more to read
    CHECK(out.parseError.empty());
  }
}

TEST_CASE("envoy admin: no active listener, warming ones and rejected updates", "[envoy]") {
  std::string noActive = kDumpV3;
  const std::string active = R"("td-interception", "active_state")";
  noActive.replace(noActive.find(active), active.size(), R"("td-interception", "other_state")");
  auto out = scan(noActive);
  CHECK(out.complete);
  CHECK(out.active == 0);
  CHECK(out.warming == 1);
  CHECK(out.rejected == 1);
  CHECK(out.firstError == "Error adding/updating listener(s) td-inbound-8080: address in use");

  auto staticOnly = scan(R"({"configs": [{"@type": "x.ListenersConfigDump",
      "static_listeners": [{"listener": {"name": "admin"}}]}]})");
  CHECK(staticOnly.complete);
  CHECK(staticOnly.active == 0);
  auto empty = scan(R"({"configs": []})");
  CHECK(empty.complete);
  CHECK(empty.active == 0);
}

TEST_CASE("envoy admin: the v2 and 1.7 shapes and ?resource=", "[envoy]") {
  auto v2 =
      scan(R"({"configs": [{"@type": "type.googleapis.com/envoy.admin.v2alpha.ListenersConfigDump",
      "dynamic_active_listeners": [{"version_info": "7", "listener": {"name": "l1"}}],
      "dynamic_warming_listeners": [{"listener": {"name": "l2"}}]}]})");
  CHECK(v2.active == 1);
  CHECK(v2.firstActive == "l1");

  auto map = scan(R"({"configs": {"listeners": {"dynamic_active_listeners": [
      {"listener": {"name": "old"}}]}}})");
  CHECK(map.active == 1);
  CHECK(map.firstActive == "old");

  auto resource = scan(R"({"configs": [
      {"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener",
       "name": "r1", "active_state": {"listener": {}}}]})");
  CHECK(resource.active == 1);
  CHECK(resource.firstActive == "r1");
}

TEST_CASE("envoy admin: broken, truncated and hostile bodies", "[envoy]") {
  auto html = scan("<html><body>admin</body></html>");
  CHECK(html.active == 0);
  CHECK_FALSE(html.parseError.empty());

  std::string half(kDumpV3);
  half.resize(200);
  auto truncated = scan(half);
  CHECK_FALSE(truncated.complete);
  CHECK_FALSE(truncated.parseError.empty());

  // Nesting a million deep is refused long before it costs memory.
  ConfigDumpScanner deep;
  std::string brackets(4096, '[');
  bool more = true;
  for (int i = 0; i < 256 && more; ++i) more = deep.feed(brackets);
  CHECK_FALSE(more);
  CHECK_FALSE(deep.result().parseError.empty());
  CHECK(deep.result().bytes <= 4096);

  // A huge body of clusters is scanned through without keeping it.
  std::string clusters = R"({"configs": [{"dynamic_active_clusters": [)";
  std::string one = R"({"cluster": {"name": "a-cluster-with-a-long-name", "type": "EDS"}},)";
  ConfigDumpScanner big;
  big.feed(clusters);
  for (int i = 0; i < 20000; ++i) REQUIRE(big.feed(one));
  CHECK(big.result().bytes > 1000000);
  CHECK(big.result().active == 0);
}
