// What outside input (a server's answer, a file, a command) can do to the agent's words
// and files: escaped, capped, named. Pure functions and plain types, no I/O but temp files.

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "agent/app/check.hpp"
#include "agent/core/logging.hpp"
#include "agent/core/state_file_writer.hpp"
#include "agent/core/text.hpp"
#include "agent/diagnosis/metadata_call.hpp"
#include "agent/diagnosis/workload_certs.hpp"
#include "agent/probes/probe.hpp"
#include "config/config.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

const std::string kHostile = "ok\x1b]0;owned\x07\x1b[2J\rfake\nline\x9b\xc2\x85";

MetadataResult readFailed(boost::system::error_code ec, int status, std::uint64_t bodyBytes,
                          std::optional<std::uint64_t> length) {
  MetadataResult r;
  HttpResult h;
  h.failedStep = HttpStep::Read;
  h.error = ec;
  h.peer = "169.254.169.254:80";
  h.answerStatus = status;
  h.bodyBytes = bodyBytes;
  h.declaredLength = length;
  h.classifyReadError(64 * 1024, 8 * 1024);
  r.attempts.push_back({h, 0ms});
  return r;
}

MetadataResult answer(int status, std::string body, HttpHeaders headers = {}) {
  MetadataResult r;
  HttpResult h;
  h.response = HttpResponse{status, "", std::move(headers), std::move(body)};
  h.response->headers.emplace_back("Metadata-Flavor", "Google");
  r.attempts.push_back({h, 0ms});
  r.flavorOk = true;
  return r;
}

bool rawControl(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n') || c == 0x7f || c == 0x9b) return true;
  return false;
}

}  // namespace

TEST_CASE("escapeControls: terminal controls become escapes, UTF-8 text stays", "[hostile]") {
  CHECK(escapeControls("plain text: 100%") == "plain text: 100%");
  CHECK(escapeControls("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");
  CHECK(escapeControls("a\x1b[31mb\x07\r\n\t") == "a\\x1B[31mb\\x07\\r\\n\\t");
  // C1 controls (CSI as one byte or as UTF-8 U+009B), bad UTF-8 and DEL are escaped too.
  CHECK(escapeControls("\x9b\xc2\x9b\x7f\xff") == "\\x9B\\xC2\\x9B\\x7F\\xFF");
  CHECK(hasControls("x\x1b"));
  CHECK_FALSE(hasControls("caf\xc3\xa9"));
}

TEST_CASE("quoteOutside: a long outside text is cut and says how long it was", "[hostile]") {
  std::string big(50 * 1024, 'x');
  std::string quoted = quoteOutside(big);
  CHECK(quoted.size() < kMaxQuotedText + 20);
  CHECK_THAT(quoted, Catch::EndsWith("... (51200 bytes)"));
  // Never half an escape.
  std::string escapes(300, '\x1b');
  std::string q = quoteOutside(escapes, 10);
  CHECK(q.rfind("\\x1B...", 0) == 0);
  CHECK(quoteOutside("short") == "short");
  CHECK(clipText("\xc3\xa9\xc3\xa9\xc3\xa9", 5) == "\xc3\xa9...");
}

TEST_CASE("a probe result leaves the probe escaped and capped", "[hostile]") {
  ProbeResult r =
      ProbeResult::failed("mds.http_error", kHostile + std::string(50000, 'm'), kHostile);
  r.details.emplace_back("k", kHostile);
  ProbeResult b = boundedResult(r);
  CHECK(b.message.size() <= kMaxResultText);
  CHECK_FALSE(rawControl(b.message));
  CHECK_FALSE(rawControl(b.fix));
  CHECK_FALSE(rawControl(b.details[0].second));
  CHECK(b.fix.find("\\x1B]0;owned\\x07") != std::string::npos);
}

TEST_CASE("check's table escapes what a server said", "[hostile]") {
  CheckReport report;
  report.endpoint = "169.254.169.254:80";
  report.entries.push_back({"metadata", ProbeResult::failed("mds.http_error", kHostile, kHostile)});
  std::string text = formatCheckText(report, false);
  CHECK_FALSE(rawControl(text));
  CHECK(text.find("ok\\x1B]0;owned\\x07\\x1B[2J\\rfake\\nline") != std::string::npos);
  // One row and one fix line: no forged line from the embedded newline.
  CHECK(std::count(text.begin(), text.end(), '\n') == 7);
}

TEST_CASE("the log escapes control characters in every message", "[hostile]") {
  std::ostringstream out;
  auto inner = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  // "\n" at the end on every OS (spdlog ends lines with "\r\n" on Windows).
  inner->set_formatter(
      std::make_unique<spdlog::pattern_formatter>("%v", spdlog::pattern_time_type::local, "\n"));
  spdlog::logger log("hostile-test", makeEscapingSink(inner));
  log.warn("server said: {}", kHostile);
  log.flush();
  CHECK_FALSE(rawControl(out.str().substr(0, out.str().size() - 1)));
  CHECK(out.str() == "server said: ok\\x1B]0;owned\\x07\\x1B[2J\\rfake\\nline\\x9B\\xC2\\x85\n");
}

TEST_CASE("a config nested 100 000 levels deep is named as such, not a crash", "[hostile]") {
  ConfigLoadResult flow =
      parseConfig("probes: " + std::string(100000, '[') + "x" + std::string(100000, ']') + "\n");
  REQUIRE(flow.problems.size() == 1);
  CHECK_THAT(flow.problems[0].message, Catch::Contains("nested deeper than 32 levels"));
  CHECK(flow.problems[0].line == 1);
  std::string block;
  for (int i = 0; i < 2000; ++i) block += std::string(i, ' ') + "k" + std::to_string(i) + ":\n";
  ConfigLoadResult deep = parseConfig(block);
  REQUIRE_FALSE(deep.problems.empty());
  CHECK_THAT(deep.problems[0].message, Catch::Contains("nested deeper than 256 columns"));
  // Brackets inside quotes and comments do not count.
  ConfigLoadResult quoted =
      parseConfig("log: {level: \"" + std::string(100, '[') + "\"} # [[[[[[\n");
  REQUIRE_FALSE(quoted.problems.empty());
  CHECK(quoted.problems[0].path == "log.level");
}

TEST_CASE("a config yaml-cpp's document loop would never finish is a syntax error", "[hostile]") {
  // Found by fuzz_config: a lone ',' made LoadAll add empty documents until memory ran out
  // (past 1 GiB within seconds). Each of these must end, at once, with a problem.
  struct Case {
    std::string text;
    int line;
  };
  for (const Case& c : std::vector<Case>{{",", 1},
                                         {", ,\n", 1},
                                         {"--- ,\n", 1},
                                         {"log: {level: info}\n---\n,\n", 3},
                                         {"# comment\n\n  ,\n", 3}}) {
    INFO(c.text);
    ConfigLoadResult loaded = parseConfig(c.text);
    CHECK_FALSE(loaded.config);
    REQUIRE(loaded.problems.size() == 1);
    CHECK(loaded.problems[0].line == c.line);
    CHECK_THAT(loaded.problems[0].message,
               Catch::StartsWith("YAML syntax error: ',' cannot start a value"));
  }
  // Still as before: a second document is a problem at its line; an empty file is the
  // defaults.
  ConfigLoadResult two = parseConfig("log: {level: info}\n---\nlog: {level: warn}\n");
  REQUIRE(two.problems.size() == 1);
  CHECK(two.problems[0].line == 3);
  CHECK_THAT(two.problems[0].message, Catch::Contains("more than one YAML document"));
  CHECK(parseConfig("").config);
  CHECK(parseConfig("# only a comment\n").config);
}

TEST_CASE("an empty custom probe list item is a problem, not a nameless probe", "[hostile]") {
  // Found by fuzz_config's round trip: "-" with nothing after it was read as a probe
  // with every field empty, and accepted.
  for (const char* text : {"probes:\n  custom:\n    -\n", "probes: {custom: [~]}\n",
                           "probes:\n  custom:\n    - {name: a, type: tcp, address: "
                           "\"h:1\"}\n    - # nothing here\n"}) {
    INFO(text);
    ConfigLoadResult loaded = parseConfig(text);
    CHECK_FALSE(loaded.config);
    REQUIRE(loaded.problems.size() == 1);
    CHECK_THAT(loaded.problems[0].path, Catch::StartsWith("probes.custom["));
    CHECK_THAT(loaded.problems[0].message, Catch::Contains("an empty list item"));
  }
}

TEST_CASE("a too-large body, a mid-body close and a redirect are each named", "[hostile]") {
  MetadataCallContext ctx{"169.254.169.254:80", "GET instance/id"};
  ProbeResult big =
      diagnoseMetadataCall(readFailed(http::error::body_limit, 200, 65536, 209715200), ctx);
  CHECK(big.cause == "mds.bad_response");
  CHECK_THAT(big.message, Catch::Contains("the body is larger than the limit of 64 KiB (HTTP 200, "
                                          "Content-Length: 209715200)"));
  CHECK_THAT(big.fix, !Catch::Contains("not valid HTTP"));

  ProbeResult header = diagnoseMetadataCall(readFailed(http::error::header_limit, 0, 0, {}), ctx);
  CHECK_THAT(header.message, Catch::Contains("the header is larger than the limit of 8 KiB"));

  ProbeResult cut =
      diagnoseMetadataCall(readFailed(http::error::partial_message, 200, 10, 5000), ctx);
  CHECK(cut.cause == "net.connection_reset");
  CHECK_THAT(cut.message, Catch::Contains("closed after 10 of 5000 body bytes"));
  CHECK_THAT(cut.fix, !Catch::Contains("not valid HTTP"));

  ProbeResult chunked = diagnoseMetadataCall(readFailed(http::error::bad_chunk, 200, 0, {}), ctx);
  CHECK(chunked.cause == "mds.bad_response");
  CHECK_THAT(chunked.message, Catch::Contains("bad chunked encoding"));

  ProbeResult moved =
      diagnoseMetadataCall(answer(301, "", {{"Location", "http://evil.example/\x1b[2Jx"}}), ctx);
  CHECK(moved.cause == "mds.http_error");
  CHECK_THAT(
      moved.message,
      Catch::Contains("HTTP 301 (redirect to 'http://evil.example/\\x1B[2Jx', not followed)"));

  MetadataResult fast = answer(200, "123");
  fast.attempts[0].http.elapsed = 0ms;
  CHECK_THAT(diagnoseMetadataCall(fast, ctx).message, Catch::Contains("answered in under 1ms"));
}

TEST_CASE("workload_certs: an unreadable config-status answer is a finding, not silence",
          "[hostile]") {
  auto facts = [](MetadataResult status) {
    WorkloadCertsFacts f;
    f.endpoint = "169.254.169.254:80";
    f.askAttribute = false;
    f.configStatus = std::move(status);
    return f;
  };
  // Over the body limit while the metadata probe is fine.
  auto big = assessWorkloadCerts(facts(readFailed(http::error::body_limit, 200, 65536, 1 << 20)));
  CHECK_FALSE(big.unreachable);
  CHECK(big.result.cause == "workload_certs.bad_response");
  CHECK_THAT(big.result.message, Catch::Contains("larger than the limit of 64 KiB"));

  for (std::string body :
       {std::string(R"({"status":"OK","metadataAttributesErrors":)"),
        std::string("\x00\x01\x02\xff binary", 12),
        std::string(10000, '[') + std::string(10000, ']'), std::string("[1,2]")}) {
    auto a = assessWorkloadCerts(facts(answer(200, body)));
    INFO(body.substr(0, 40));
    CHECK(a.next == WorkloadStep::Verdict);
    CHECK(a.result.cause == "workload_certs.bad_response");
    CHECK_FALSE(rawControl(boundedResult(a.result).message));
  }
  CHECK_THAT(assessWorkloadCerts(facts(answer(200, std::string(40, '[') + std::string(40, ']'))))
                 .result.message,
             Catch::Contains("nested deeper than 32 levels"));

  // A 50 KB server message is quoted short; a flood of errors is counted.
  std::string errors = R"({"partnerMetadataErrors":[)";
  for (int i = 0; i < 500; ++i)
    errors += (i ? "," : "") + std::string("\"") + std::string(100, 'e') + "\"";
  errors += R"(],"metadataAttributesErrors":")" + std::string(50000, 'x') + "\"}";
  auto flood = assessWorkloadCerts(facts(answer(200, errors)));
  CHECK(flood.result.cause == "workload_certs.misconfigured");
  CHECK_THAT(flood.result.message, Catch::Contains("501 error(s)"));
  CHECK_THAT(flood.result.message, Catch::Contains("and 496 more"));
  CHECK(flood.result.message.size() < 2000);
}

TEST_CASE("state file episodes: one warning when a file starts failing, one when it recovers",
          "[hostile]") {
  StateFileEpisodes e;
  using Say = StateFileEpisodes::Say;
  CHECK(e.record("h", "") == Say::Nothing);
  CHECK(e.record("h", "No space left on device") == Say::Failing);
  for (int i = 0; i < 12; ++i) CHECK(e.record("h", "No space left on device") == Say::Nothing);
  CHECK(e.failedAttempts("h") == 13);
  CHECK(e.record("s", "Read-only file system") == Say::Failing);  // another file: its own
  CHECK(e.record("h", "") == Say::Recovered);
  CHECK_FALSE(e.failing("h"));
  CHECK(e.record("h", "") == Say::Nothing);
  CHECK(e.record("h", "again") == Say::Failing);  // a new episode is said again
}
