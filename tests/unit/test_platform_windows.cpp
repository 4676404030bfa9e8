// The small Windows platform pieces: default paths, atomic file replacement, the service's
// command line, the Event Log sink (through a recording reporter: wine keeps no event log
// to read back), and the process facts.

#include <shlobj.h>
#include <windows.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/logger.h>

#include "platform/files.hpp"
#include "platform/paths.hpp"
#include "platform/process.hpp"
#include "platform/windows/event_log_sink.hpp"
#include "platform/windows/service_control.hpp"
#include "platform/windows/win_text.hpp"
#include "tests/support/temp_dir.hpp"

using namespace guestpulse;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string programData() {
  wchar_t* path = nullptr;
  std::string dir;
  // The same source the implementation uses, asked independently.
  if (SUCCEEDED(::SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &path)))
    dir = platform::win::toUtf8(path);
  ::CoTaskMemFree(path);
  return dir;
}

}  // namespace

TEST_CASE("paths (Windows): under %ProgramData%, COM1, the guest agent's mTLS files",
          "[paths][windows]") {
  const std::string base = programData();
  REQUIRE_FALSE(base.empty());
  CHECK(platform::defaultConfigPath() == base + "\\guestpulse\\guestpulse.yaml");
  CHECK(platform::defaultStateDir() == base + "\\guestpulse\\state");
  CHECK(platform::defaultSerialDevice() == "COM1");
  // Neither spelling holds the files here, so the documented one is named.
  CHECK(platform::defaultMtlsRootCa() == base + "\\Google\\Compute Engine\\mds-mtls-root.crt");
  CHECK(platform::defaultMtlsClientCert() ==
        base + "\\Google\\Compute Engine\\mds-mtls-client.key");
}

TEST_CASE("files (Windows): atomic replace writes, replaces and leaves no temporary",
          "[files][windows]") {
  testing::TempDir dir;
  const std::string path = (dir / "state.json").string();
  CHECK(platform::replaceFileAtomically(path, "first", true).empty());
  CHECK(slurp(path) == "first");
  // Replacing a file another process has open for reading works on NTFS when it shares
  // delete access; the agent's own readers open and close at once.
  CHECK(platform::replaceFileAtomically(path, "second, longer", false).empty());
  CHECK(slurp(path) == "second, longer");
  CHECK_FALSE(fs::exists(path + ".tmp"));
  const std::string error =
      platform::replaceFileAtomically((dir / "missing" / "x.json").string(), "x", true);
  CHECK(error.rfind("open ", 0) == 0);
  CHECK(error.find("(error 3)") != std::string::npos);  // ERROR_PATH_NOT_FOUND
}

TEST_CASE("files (Windows): ensureDirectory makes parents, and says why it cannot",
          "[files][windows]") {
  testing::TempDir dir;
  const std::string nested = (dir / "a" / "b" / "c").string();
  CHECK(platform::ensureDirectory(nested).empty());
  CHECK(fs::is_directory(nested));
  CHECK(platform::ensureDirectory(nested).empty());  // again: fine
  const std::string file = (dir / "plain").string();
  REQUIRE(platform::replaceFileAtomically(file, "x", false).empty());
  CHECK_FALSE(platform::ensureDirectory(file + "\\sub").empty());
}

TEST_CASE("text (Windows): UTF-8 round trip and error texts", "[windows]") {
  const std::string text = "C:\\ProgramData\\gu\xc3\xa9stpulse \xe2\x9c\x93";
  CHECK(platform::win::toUtf8(platform::win::toWide(text)) == text);
  CHECK(platform::win::toWide("").empty());
  CHECK(platform::win::errorText(ERROR_FILE_NOT_FOUND).find("(error 2)") != std::string::npos);
}

TEST_CASE("process (Windows): the running executable", "[windows]") {
  const std::string exe = platform::currentExecutable();
  CHECK(exe.size() > 4);
  CHECK(exe.substr(exe.size() - 4) == ".exe");
  CHECK(fs::exists(platform::win::toWide(exe)));
}

TEST_CASE("service (Windows): the command line the SCM runs", "[service][windows]") {
  using platform::win::quoteArgument;
  using platform::win::serviceCommandLine;
  CHECK(quoteArgument(L"plain") == L"plain");
  CHECK(quoteArgument(L"") == L"\"\"");
  CHECK(quoteArgument(L"C:\\Program Files\\x") == L"\"C:\\Program Files\\x\"");
  CHECK(quoteArgument(L"a\"b") == L"\"a\\\"b\"");
  CHECK(quoteArgument(L"ends in \\") == L"\"ends in \\\\\"");
  CHECK(serviceCommandLine(L"C:\\Program Files\\guestpulse\\guestpulse.exe", L"") ==
        L"\"C:\\Program Files\\guestpulse\\guestpulse.exe\" run");
  CHECK(serviceCommandLine(L"C:\\gp\\guestpulse.exe", L"D:\\conf dir\\gp.yaml") ==
        L"\"C:\\gp\\guestpulse.exe\" run -c \"D:\\conf dir\\gp.yaml\"");
  platform::win::RecoveryPlan plan;
  CHECK(plan.resetSeconds == 86400);
  CHECK(plan.restartDelaysMs == std::vector<DWORD>{1000, 2000, 5000});
}

TEST_CASE("event log (Windows): WARN and above, with the Windows event types", "[log][windows]") {
  std::vector<platform::win::EventRecord> seen;
  bool accept = true;
  auto sink =
      std::make_shared<platform::win::EventLogSink>([&](const platform::win::EventRecord& r) {
        seen.push_back(r);
        return accept;
      });
  sink->set_pattern("[%n] %v");
  sink->set_level(spdlog::level::warn);
  spdlog::logger log("agent", sink);
  log.set_level(spdlog::level::trace);
  log.info("not for the event log");
  log.warn("serial console dropped {} lines", 3);
  log.error("cannot write {}", "C:\\state");
  log.critical("cannot run: gu\xc3\xa9");
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].type == EVENTLOG_WARNING_TYPE);
  CHECK(seen[0].eventId == 1);
  CHECK(seen[0].text == L"[agent] serial console dropped 3 lines");
  CHECK(seen[1].type == EVENTLOG_ERROR_TYPE);
  CHECK(seen[1].text == L"[agent] cannot write C:\\state");
  CHECK(seen[2].type == EVENTLOG_ERROR_TYPE);
  CHECK(seen[2].text == L"[agent] cannot run: gu\u00e9");
  CHECK(sink->failures() == 0);
  accept = false;  // the log is full or not ours to write: counted, never thrown
  log.warn("refused");
  CHECK(sink->failures() == 1);
}

TEST_CASE("event log (Windows): the real reporter accepts an event", "[log][windows]") {
  // Wine and Windows both accept ReportEventW for an unregistered source; neither lets a
  // test read it back without administrator rights, so this checks the call succeeds.
  auto report = platform::win::systemEventReporter();
  CHECK(report({EVENTLOG_WARNING_TYPE, platform::win::kEventIdMessage,
                L"[test] guestpulse unit test event"}));
}
