// A probe's result across the process boundary: its JSON form, and what the daemon makes
// of whatever the child printed.

#include <catch2/catch.hpp>

#include "agent/health/probe_result_json.hpp"
#include "agent/probes/probe_in_child.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

TEST_CASE("probe result JSON round-trips, control characters included", "[child]") {
  ProbeResult r = ProbeResult::degraded("mtls.cert_expiring", "expires in 2d\n\x1b[31m", "renew");
  r.details = {{"curl_error", "60"}, {"endpoint", "169.254.169.254:443"}};
  auto back = probeResultFromJson(probeResultToJson(r));
  REQUIRE(back);
  CHECK(back->state == State::Degraded);
  CHECK(back->cause == r.cause);
  CHECK(back->message == r.message);
  CHECK(back->fix == r.fix);
  CHECK(back->details == r.details);
  CHECK(probeResultToJson(r).find('\n') == std::string::npos);  // one line

  CHECK_FALSE(probeResultFromJson("not json"));
  CHECK_FALSE(probeResultFromJson(R"({"state":"MAYBE"})"));
  CHECK_FALSE(probeResultFromJson("[1,2]"));
  auto minimal = probeResultFromJson(R"({"state":"OK","details":{"n":1,"s":"x"}})");
  REQUIRE(minimal);
  CHECK(minimal->details == std::vector<std::pair<std::string, std::string>>{{"s", "x"}});
}

TEST_CASE("the child's output: the last line is the result", "[child]") {
  const std::string ok = probeResultToJson(ProbeResult::ok("GET instance/id over mTLS"));
  auto r = childProbeResult("mds_mtls", 0, false, "a warning the child logged\n" + ok + "\n", 10s);
  CHECK(r.state == State::Ok);
  CHECK(r.message == "GET instance/id over mTLS");

  auto crashed = childProbeResult("mds_mtls", 1, false, "terminate called after ...\n", 10s);
  CHECK(crashed.state == State::Failed);
  CHECK(crashed.cause == "agent.probe_isolation_failed");
  CHECK_THAT(crashed.message, Catch::Contains("exit code 1") && Catch::Contains("terminate"));

  auto silent = childProbeResult("mds_mtls", 0, false, "", 10s);
  CHECK(silent.cause == "agent.probe_isolation_failed");
  CHECK_THAT(silent.message, Catch::Contains("printed no result"));

  auto garbage = childProbeResult("mds_mtls", 0, false, std::string(5000, 'x'), 10s);
  CHECK(garbage.cause == "agent.probe_isolation_failed");
  CHECK(garbage.message.size() < 400);

  auto late = childProbeResult("mds_mtls", -1, true, "", 12s);
  CHECK(late.cause == "agent.probe_timeout");
  CHECK_THAT(late.message, Catch::Contains("within 12s"));
}
