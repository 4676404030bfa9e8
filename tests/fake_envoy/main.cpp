// fake-envoy: the fake Envoy admin interface as a program, for end-to-end tests (run in a
// network namespace, as the proxy's uid, on 127.0.0.1:15000).
//
//   fake-envoy [--listen HOST:PORT] [--port-file FILE]
//
// Serves until SIGTERM or SIGINT, then exits 0; exit 2 on bad arguments, 1 when the
// listener cannot be opened. Answers are switched through /_fake/answers (fake_envoy.hpp).

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "tests/fake_envoy/fake_envoy.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fake-envoy: a fake Envoy admin interface (control API under /_fake/)"};
  std::string listen = "127.0.0.1:0", portFile;
  app.add_option("--listen", listen, "numeric IPv4 HOST:PORT to listen on (port 0: any free)");
  app.add_option("--port-file", portFile, "write the bound port here once listening");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  guestpulse::fake::FakeEnvoyOptions options;
  const std::size_t colon = listen.rfind(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    options.bindAddress = listen.substr(0, colon);
    options.port = static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)));
  } catch (const std::exception&) {
    std::cerr << "fake-envoy: --listen wants HOST:PORT, got '" << listen << "'\n";
    return 2;
  }

  boost::asio::io_context signalLoop;
  boost::asio::signal_set signals(signalLoop, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});
  guestpulse::fake::FakeEnvoy envoy(options);
  try {
    envoy.start();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  if (!portFile.empty()) {
    // Written under another name and renamed: a poller never reads half a port.
    std::ofstream(portFile + ".tmp") << envoy.port() << "\n";
    std::error_code ec;
    std::filesystem::rename(portFile + ".tmp", portFile, ec);
    if (ec) {
      std::cerr << "fake-envoy: cannot write " << portFile << "\n";
      return 1;
    }
  }
  std::cerr << "fake-envoy: listening on http://" << options.bindAddress << ":" << envoy.port()
            << "\n";
  signalLoop.run();
  envoy.stop();
  return 0;
}
