#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <random>
#include <string>

#include "agent/report/serial_line.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;

namespace {

WallTime at(int y, unsigned mo, unsigned d, std::chrono::seconds timeOfDay) {
  using namespace std::chrono;
  return WallTime(sys_days(year(y) / month(mo) / day(d)) + timeOfDay);
}

const WallTime kFailTime = at(2026, 11, 22, 22h);
const WallTime kRecoverTime = at(2026, 11, 22, 22h + 5min + 12s);

// Reads back a line the way an operator's script would: fields after the level,
// quoted values unescaped. Fails the test on anything malformed.
struct Parsed {
  std::string time, level;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string get(const std::string& key) const {
    for (const auto& [k, v] : fields) {
      if (k == key) return v;
    }
    return "<absent>";
  }
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Parsed parse(const std::string& line) {
  Parsed p;
  REQUIRE(line.size() <= kSerialLineMax);
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  auto bad = std::find_if(line.begin(), line.end() - 1, [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E;
  });
  INFO(line);
  REQUIRE(bad == line.end() - 1);  // printable ASCII up to the one newline
  std::string body = line.substr(0, line.size() - 1);
  REQUIRE(body.rfind("guestpulse: ", 0) == 0);
  std::size_t i = std::string("guestpulse: ").size();
  auto word = [&] {
    std::size_t end = body.find(' ', i);
    if (end == std::string::npos) end = body.size();
    std::string w = body.substr(i, end - i);
    i = end == body.size() ? end : end + 1;
    return w;
  };
  p.time = word();
  p.level = word();
  while (i < body.size()) {
    std::size_t eq = body.find('=', i);
    REQUIRE(eq != std::string::npos);
    std::string key = body.substr(i, eq - i);
    i = eq + 1;
    std::string value;
    if (i < body.size() && body[i] == '"') {
      ++i;
      bool closed = false;
      while (i < body.size()) {
        char c = body[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c != '\\') {
          value += c;
          continue;
        }
        REQUIRE(i < body.size());
        char e = body[i++];
        if (e == '"' || e == '\\')
          value += e;
        else if (e == 'n')
          value += '\n';
        else if (e == 'r')
          value += '\r';
        else if (e == 't')
          value += '\t';
        else {
          REQUIRE(e == 'x');
          REQUIRE(i + 1 < body.size());
          int hi = hexValue(body[i]), lo = hexValue(body[i + 1]);
          REQUIRE(hi >= 0);
          REQUIRE(lo >= 0);
          value += static_cast<char>(hi * 16 + lo);
          i += 2;
        }
      }
      REQUIRE(closed);
      if (i < body.size()) {
        REQUIRE(body[i] == ' ');
        ++i;
      }
    } else {
      value = word();
    }
    p.fields.emplace_back(key, value);
  }
  return p;
}

}  // namespace

TEST_CASE("serial line: the failure example from DESIGN.md", "[serial]") {
  ProbeResult r =
      ProbeResult::failed("dns.hosts_mapping_missing", "metadata.google.internal does not resolve",
                          "add '169.254.169.254 metadata.google.internal' to /etc/hosts");
  CHECK(formatSerialLine(probeSerialEvent(kFailTime, "metadata", r)) ==
        "guestpulse: 2026-11-22T22:00:00Z ERROR probe=metadata state=FAILED "
        "cause=dns.hosts_mapping_missing msg=\"metadata.google.internal does not resolve\" "
        "fix=\"add '169.254.169.254 metadata.google.internal' to /etc/hosts\"\n");
}

TEST_CASE("serial line: the recovery example omits cause and fix", "[serial]") {
  SerialEvent e;
  e.time = kRecoverTime;
  e.probe = "metadata";
  e.state = State::Ok;
  e.message = "recovered after " + formatDuration(5min + 12s);
  CHECK(formatSerialLine(e) ==
        "guestpulse: 2026-11-22T22:05:12Z INFO probe=metadata state=OK "
        "msg=\"recovered after 5m12s\"\n");
}

TEST_CASE("serial line: level follows the state unless given", "[serial]") {
  CHECK(levelFor(State::Failed) == "ERROR");
  CHECK(levelFor(State::Degraded) == "WARN");
  CHECK(levelFor(State::Ok) == "INFO");

  SerialEvent e;
  e.time = kFailTime;
  e.probe = "workload_certs";
  e.state = State::Degraded;
  e.cause = "workload_certs.expiring";
  CHECK(parse(formatSerialLine(e)).level == "WARN");
  e.level = "ERROR";
  CHECK(parse(formatSerialLine(e)).level == "ERROR");
  e.level.clear();
  e.state.reset();
  CHECK(parse(formatSerialLine(e)).level == "INFO");

  // An informational finding on an OK result is INFO with its cause.
  auto info =
      probeSerialEvent(kFailTime, "workload_certs",
                       ProbeResult::info("workload_certs.not_configured", "config-status 404"));
  CHECK(formatSerialLine(info) ==
        "guestpulse: 2026-11-22T22:00:00Z INFO probe=workload_certs state=OK "
        "cause=workload_certs.not_configured msg=\"config-status 404\"\n");
}

TEST_CASE("serial line: agent-level lines have no probe", "[serial]") {
  CHECK(formatSerialLine(agentSerialEvent(kFailTime, "INFO", "agent started version=0.1.0")) ==
        "guestpulse: 2026-11-22T22:00:00Z INFO msg=\"agent started version=0.1.0\"\n");
  CHECK(formatSerialDropLine(kFailTime, 7) ==
        "guestpulse: 2026-11-22T22:00:00Z WARN msg=\"serial console dropped 7 lines\"\n");
}

TEST_CASE("serial line: quotes, backslashes, control and non-ASCII bytes are escaped", "[serial]") {
  SerialEvent e;
  e.time = kFailTime;
  e.level = "WARN";
  e.message = "say \"hi\" C:\\path\nline2\ttab\r\x01\x7F caf\xC3\xA9";
  e.fix = "\x1B[31mred";
  std::string line = formatSerialLine(e);
  CHECK(line ==
        "guestpulse: 2026-11-22T22:00:00Z WARN "
        "msg=\"say \\\"hi\\\" C:\\\\path\\nline2\\ttab\\r\\x01\\x7F caf\\xC3\\xA9\" "
        "fix=\"\\x1B[31mred\"\n");
  Parsed p = parse(line);
  CHECK(p.get("msg") == e.message);
  CHECK(p.get("fix") == e.fix);
}

TEST_CASE("serial line: extras are quoted, keys sanitised, empty fields left out", "[serial]") {
  SerialEvent e;
  e.time = kFailTime;
  e.probe = "metadata";
  e.state = State::Failed;
  e.cause = "mds.unavailable";
  e.extra = {{"status", "503"}, {"bad key=\"x\"", "v"}, {"empty", ""}, {"", "no key"}};
  CHECK(formatSerialLine(e) ==
        "guestpulse: 2026-11-22T22:00:00Z ERROR probe=metadata state=FAILED "
        "cause=mds.unavailable status=\"503\" bad_key__x_=\"v\"\n");
}

TEST_CASE("serial line: odd probe or cause text is quoted, not spliced in", "[serial]") {
  SerialEvent e;
  e.time = kFailTime;
  e.probe = "my probe";
  e.state = State::Failed;
  e.cause = "x msg=\"forged\"";
  Parsed p = parse(formatSerialLine(e));
  CHECK(p.get("probe") == "my probe");
  CHECK(p.get("cause") == "x msg=\"forged\"");
  CHECK(p.get("msg") == "<absent>");
}

TEST_CASE("serial line: long fields are cut to 1 KiB with a marker", "[serial]") {
  SerialEvent e;
  e.time = kFailTime;
  e.probe = "metadata";
  e.state = State::Failed;
  e.cause = "net.timeout";

  SECTION("a long message alone keeps a short fix whole") {
    e.message = std::string(5000, 'm');
    e.fix = "check routes";
    std::string line = formatSerialLine(e);
    CHECK(line.size() == kSerialLineMax);
    Parsed p = parse(line);
    CHECK(p.get("fix") == "check routes");
    std::string msg = p.get("msg");
    CHECK(msg.size() > 800);
    CHECK(msg.substr(msg.size() - 3) == "...");
    CHECK(msg.find_first_not_of('m') == msg.size() - 3);
  }

  SECTION("message and fix share the room") {
    e.message = std::string(3000, 'm');
    e.fix = std::string(3000, 'f');
    std::string line = formatSerialLine(e);
    Parsed p = parse(line);
    std::string msg = p.get("msg"), fix = p.get("fix");
    CHECK(msg.substr(msg.size() - 3) == "...");
    CHECK(fix.substr(fix.size() - 3) == "...");
    CHECK(msg.size() > 400);
    CHECK(fix.size() > 400);
    CHECK(line.size() >= kSerialLineMax - 2);
  }

  SECTION("an escape is never cut in half") {
    for (const char* unit : {"\"", "\\", "\xC3", "\n"}) {
      for (std::size_t n = 300; n < 320; ++n) {
        std::string raw;
        for (std::size_t k = 0; k < n; ++k) raw += unit;
        e.message = raw;
        e.fix = raw;
        std::string line = formatSerialLine(e);
        Parsed p = parse(line);  // fails on a dangling backslash or a short \x
        std::string msg = p.get("msg");
        REQUIRE(msg.size() >= 3);
        CHECK(msg.substr(msg.size() - 3) == "...");
        CHECK(msg.substr(0, msg.size() - 3) == raw.substr(0, msg.size() - 3));
      }
    }
  }

  SECTION("too many extras: trailing ones are left out, the line stays valid") {
    e.message = "m";
    for (int k = 0; k < 200; ++k) e.extra.emplace_back("key" + std::to_string(k), "value");
    std::string line = formatSerialLine(e);
    Parsed p = parse(line);
    CHECK(p.get("msg") == "m");
    CHECK(p.get("key0") == "value");
    CHECK(p.get("key199") == "<absent>");
  }

  SECTION("a runaway probe name or cause cannot crowd out the message") {
    e.probe = std::string(4000, 'p');
    e.cause = std::string(4000, 'c');
    e.message = "the message";
    Parsed p = parse(formatSerialLine(e));
    CHECK(p.get("msg") == "the message");
    CHECK(p.get("probe").size() <= 128);
  }
}

TEST_CASE("serial line: random input always gives one valid ASCII line", "[serial]") {
  std::mt19937 rng(12345);
  auto randomText = [&](std::size_t maxLen) {
    std::uniform_int_distribution<std::size_t> len(0, maxLen);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string s(len(rng), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    return s;
  };
  for (int round = 0; round < 500; ++round) {
    SerialEvent e;
    e.time = kFailTime;
    e.probe = round % 3 ? "metadata" : randomText(20);
    e.state = static_cast<State>(round % 3);
    e.cause = round % 5 ? "net.timeout" : randomText(20);
    e.message = randomText(round % 2 ? 2000 : 100);
    e.fix = randomText(round % 4 ? 1500 : 50);
    for (int k = round % 4; k > 0; --k) e.extra.emplace_back(randomText(10), randomText(400));
    std::string line = formatSerialLine(e);
    Parsed p = parse(line);
    // Short fields come back exactly.
    if (e.message.size() + e.fix.size() < 100 && e.extra.empty() && !e.message.empty()) {
      CHECK(p.get("msg") == e.message);
    }
    CHECK(p.level == std::string(levelFor(*e.state)));
  }
}
