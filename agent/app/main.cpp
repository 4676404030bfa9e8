// guestpulse: the command line. See `guestpulse --help` and the README.

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include "agent/app/agent.hpp"
#include "agent/app/check.hpp"
#include "agent/app/internal_probe.hpp"
#include "agent/core/logging.hpp"
#include "agent/core/text.hpp"
#include "agent/provider/provider_detector.hpp"
#include "config/config.hpp"
#include "platform/paths.hpp"
#include "platform/process.hpp"
#include "platform/service_host.hpp"

namespace {

using namespace guestpulse;

constexpr int kExitUsage = 3;

// GCE_METADATA_HOST and AWS_EC2_METADATA_SERVICE_ENDPOINT are taken as given (as the
// providers' libraries do); a malformed value only shows once the overridden config is
// validated again.
bool reportEnvironmentProblems(const Config& config) {
  auto problems = validateConfig(config);
  if (problems.empty()) return true;
  std::cerr << "guestpulse: invalid configuration after environment overrides "
               "(GCE_METADATA_HOST, AWS_EC2_METADATA_SERVICE_ENDPOINT):\n";
  for (const auto& problem : problems)
    std::cerr << "  " << escapeControls(problem.toString()) << "\n";
  return false;
}

// Loads the config the way every subcommand does: an explicit -c must exist; without
// -c the default path is used if present, otherwise the built-in defaults. Then resolves
// the provider (provider: auto is detected here, once) and applies that provider's
// environment overrides.
std::optional<Config> loadConfigOrReport(const std::string& explicitPath, std::string& usedPath,
                                         ProviderChoice& provider,
                                         std::optional<Provider> forced = std::nullopt) {
  std::string path = explicitPath;
  if (path.empty()) {
    std::string fallback = platform::defaultConfigPath();
    std::error_code ec;
    if (std::filesystem::exists(fallback, ec)) path = fallback;
  }
  usedPath = path;
  std::optional<Config> config;
  if (path.empty()) {
    config = Config{};
  } else {
    ConfigLoadResult loaded = loadConfigFile(path);
    if (!loaded.config) {
      std::cerr << "guestpulse: invalid configuration in " << path << ":\n";
      for (const auto& problem : loaded.problems)
        std::cerr << "  " << escapeControls(problem.toString()) << "\n";
      return std::nullopt;
    }
    config = std::move(loaded.config);
  }
  // A child of the daemon is told the provider the daemon resolved: no second detection.
  if (forced) config->provider = *forced;
  provider = resolveProvider(*config);
  applyEnvironmentOverrides(*config, provider.provider);
  if (!reportEnvironmentProblems(*config)) return std::nullopt;
  return config;
}

int commandRun(const std::string& configPath) {
  // Everything runs inside the service host, the configuration check included: a service
  // with a bad file then stops with exit code 3 through the service manager, and the log
  // (on Windows the event log, where a service's stderr goes nowhere) says why.
  return platform::runService([&]() -> int {
    std::string usedPath;
    ProviderChoice provider;
    setLogLevel("warn");  // until the config says otherwise: detection may log
    auto config = loadConfigOrReport(configPath, usedPath, provider);
    if (!config) {
      logger("agent")->critical(
          "invalid configuration{}: 'guestpulse config validate{}' names every problem",
          usedPath.empty() ? "" : " in " + usedPath, usedPath.empty() ? "" : " -c " + usedPath);
      return kExitUsage;
    }
    setLogLevel(config->log.level);
    platform::ignoreBrokenPipe();
    auto log = logger("agent");
    log->info("configuration: {}", usedPath.empty() ? "built-in defaults" : usedPath);
    try {
      boost::asio::io_context io(1);
      AgentOptions options;
      options.configPath = usedPath;
      options.selfExecutable = platform::currentExecutable();
      options.provider = provider;
      Agent agent(io, *config, options);
      // The service manager's requests (signals; the Windows SCM) arrive on the loop.
      std::unique_ptr<platform::ServiceEvents> events;
      events = std::make_unique<platform::ServiceEvents>(
          io, platform::ServiceRequests{[&] {
                                          events->close();
                                          agent.requestStop();
                                        },
                                        [&] { agent.requestReload(); }});
      agent.start();
      io.run();
    } catch (const std::exception& e) {
      log->critical("cannot run: {}", e.what());
      return 1;
    }
    return 0;
  });
}

int commandService(bool install, const std::string& configPath) {
  if (!platform::serviceSetupSupported()) {
    std::cerr << "guestpulse service: "
              << (install ? platform::installService({}, {}) : platform::uninstallService()).message
              << "\n";
    return kExitUsage;
  }
  platform::ServiceSetupResult result =
      install ? platform::installService(
                    platform::currentExecutable(),
                    configPath.empty() ? platform::defaultConfigPath() : configPath)
              : platform::uninstallService();
  (result.ok ? std::cout : std::cerr) << "guestpulse service: " << result.message << "\n";
  return result.ok ? 0 : 1;
}

int commandCheck(const std::string& configPath, bool json) {
  std::string usedPath;
  ProviderChoice provider;
  // Diagnosis goes to stdout; the agent's own logs would only clutter it.
  setLogLevel(json ? "off" : "warn");
  auto config = loadConfigOrReport(configPath, usedPath, provider);
  if (!config) return kExitUsage;
  platform::ignoreBrokenPipe();
  try {
    CheckReport report = runCheck(*config, provider);
    std::cout << (json ? formatCheckJson(report)
                       : formatCheckText(report, platform::stdoutIsTerminal()));
    return checkExitCode(report);
  } catch (const std::exception& e) {
    std::cerr << "guestpulse check: " << e.what() << "\n";
    return kExitUsage;
  }
}

int commandInternalProbe(const std::string& configPath, const std::string& name,
                         const std::string& providerName, bool alreadyFailing) {
  std::optional<Provider> forced;
  if (!providerName.empty()) {
    forced = parseProvider(providerName);
    if (!forced || *forced == Provider::Auto) {
      std::cerr << "guestpulse internal probe: unknown provider '" << providerName << "'\n";
      return kExitUsage;
    }
  }
  std::string usedPath;
  ProviderChoice provider;
  auto config = loadConfigOrReport(configPath, usedPath, provider, forced);
  if (!config) return kExitUsage;
  // stdout carries the result; the parent keeps only its last line.
  setLogLevel("off");
  platform::ignoreBrokenPipe();
  try {
    return runInternalProbe(*config, provider.provider, name, alreadyFailing);
  } catch (const std::exception& e) {
    std::cerr << "guestpulse internal probe: " << e.what() << "\n";
    return 1;
  }
}

int commandValidate(const std::string& configPath) {
  std::string path = configPath.empty() ? platform::defaultConfigPath() : configPath;
  ConfigLoadResult loaded = loadConfigFile(path);
  if (!loaded.config) {
    std::cerr << path << ": " << loaded.problems.size() << " problem(s)\n";
    for (const auto& problem : loaded.problems)
      std::cerr << "  " << escapeControls(problem.toString()) << "\n";
    return kExitUsage;
  }
  std::cout << path << ": OK\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "guestpulse: a health agent for cloud VMs that says what is wrong and how to fix it"};
  app.require_subcommand(1);
  std::string configPath;
  bool json = false;

  auto* run = app.add_subcommand("run", "run the agent in the foreground (the service's command)");
  run->add_option("-c,--config", configPath,
                  "config file (default: " + platform::defaultConfigPath() + ")");

  auto* check = app.add_subcommand("check",
                                   "run every probe once and print a diagnosis; exit 0 OK, 1 "
                                   "degraded, 2 failed, 3 usage/config error");
  check->add_option("-c,--config", configPath, "config file");
  check->add_flag("--json", json, "print one JSON object instead of a table");

  auto* configCmd = app.add_subcommand("config", "configuration tools");
  configCmd->require_subcommand(1);
  auto* validate = configCmd->add_subcommand(
      "validate", "check a config file; exit 0, or 3 naming every problem");
  validate->add_option("-c,--config", configPath, "config file");

  auto* show = configCmd->add_subcommand(
      "show", "print the effective configuration (defaults, file and environment) as YAML");
  show->add_option("-c,--config", configPath, "config file");

  bool serviceInstall = false, serviceUninstall = false;
  auto* service = app.add_subcommand(
      "service", "register with the service manager (Windows; on Linux the package's unit does)");
  service->require_subcommand(1);
  auto* install = service->add_subcommand("install", "install and start the guestpulse service");
  install->add_option("-c,--config", configPath, "config file the service runs with");
  install->callback([&] { serviceInstall = true; });
  service->add_subcommand("uninstall", "stop and remove the guestpulse service")->callback([&] {
    serviceUninstall = true;
  });

  // The child side of TLS probes run in a process of their own; not for operators.
  auto* internal = app.add_subcommand("internal", "");
  internal->group("");  // hidden from --help
  internal->require_subcommand(1);
  std::string internalProbe;
  bool alreadyFailing = false;
  auto* probe = internal->add_subcommand("probe", "run one probe once, print its result as JSON");
  probe->add_option("name", internalProbe, "probe name")->required();
  probe->add_option("-c,--config", configPath, "config file");
  probe->add_flag("--already-failing", alreadyFailing, "spend one attempt, not the retry budget");
  std::string internalProvider;
  probe->add_option("--provider", internalProvider, "the provider the daemon resolved");

  app.add_subcommand("version", "print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  if (*run) return commandRun(configPath);
  if (*check) return commandCheck(configPath, json);
  if (*validate) return commandValidate(configPath);
  if (serviceInstall || serviceUninstall) return commandService(serviceInstall, configPath);
  if (*probe)
    return commandInternalProbe(configPath, internalProbe, internalProvider, alreadyFailing);
  if (*show) {
    std::string usedPath;
    ProviderChoice provider;
    setLogLevel("off");
    auto config = loadConfigOrReport(configPath, usedPath, provider);
    if (!config) return kExitUsage;
    std::cout << "# effective configuration from "
              << (usedPath.empty() ? "built-in defaults" : usedPath) << "\n"
              << "# provider in use: " << toString(provider.provider) << " (" << provider.reason
              << ")\n"
              << toYaml(*config);
    return 0;
  }
  if (app.got_subcommand("version")) {
    std::cout << "guestpulse " << GUESTPULSE_VERSION << "\n";
    return 0;
  }
  return kExitUsage;
}
