// fake-mds: the fake metadata server as a program, for end-to-end tests (run inside a
// network namespace on 169.254.169.254:80), the SDK client tests and the README demo.
//
//   fake-mds [--provider gce|ec2|azure] [--listen HOST:PORT]... [--port-file FILE]
//            [--quiet] [--log-requests] [--metadata PATH=VALUE]... [--attribute KEY=VALUE]...
//            [--imds-v1] [--imds-disabled] [--hop-limit N]
//            [--https-listen HOST:PORT --tls-cert FILE --tls-key FILE [--client-ca FILE]
//             [--https-port-file FILE]]
//
// Listens on every --listen address (default 127.0.0.1:0), writes the bound port(s) to
// --port-file once accepting, serves until SIGTERM or SIGINT, then exits 0. Exit 2 on bad
// arguments, 1 when a listener cannot be opened.

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "tests/fake_mds/fake_mds.hpp"

namespace {

using guestpulse::fake::FakeMds;
using guestpulse::fake::ListenAddress;
using guestpulse::fake::Options;
using guestpulse::fake::RequestRecord;

// Written to a temporary name and renamed, so a script polling for the file never reads a
// half-written port.
bool writePortFile(const std::string& path, const std::vector<std::uint16_t>& ports) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (std::uint16_t port : ports) out << port << "\n";
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

void logRequest(const RequestRecord& r) {
  std::string line = "fake-mds: " + r.wall + " #" + std::to_string(r.seq) + " " +
                     (r.method.empty() ? "-" : r.method) + " " +
                     (r.target.empty() ? "-" : r.target) + " -> " + std::to_string(r.status);
  char duration[32];
  std::snprintf(duration, sizeof duration, " %.1fms", r.durationMs);
  line += duration;
  line += r.flavor ? " flavor" : " no-flavor";
  if (!r.fault.empty()) line += " fault=" + r.fault;
  line += "\n";
  std::cerr << line << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "fake-mds: a fake GCE, EC2 or Azure metadata server with fault injection (control API "
      "under /_fake/)"};
  std::vector<std::string> listen;
  std::string portFile;
  bool quiet = false;
  bool logRequests = false;
  app.add_option("--listen", listen,
                 "HOST:PORT to listen on, numeric IPv4 or [IPv6]; repeatable; port 0 picks a "
                 "free port (default 127.0.0.1:0)")
      ->type_name("HOST:PORT")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            return guestpulse::fake::parseListenAddress(value)
                       ? std::string()
                       : "expected a numeric HOST:PORT such as 127.0.0.1:8080 or [::1]:0, got '" +
                             value + "'";
          },
          "HOST:PORT"));
  app.add_option("--port-file", portFile,
                 "write the bound port (one line per --listen, in order) here once listening");
  std::string httpsListen, tlsCert, tlsKey, clientCa, httpsPortFile;
  app.add_option("--https-listen", httpsListen,
                 "HOST:PORT of an HTTPS listener (the mTLS metadata endpoint)");
  app.add_option("--tls-cert", tlsCert, "the HTTPS listener's certificate chain (PEM)");
  app.add_option("--tls-key", tlsKey, "the HTTPS listener's private key (PEM)");
  app.add_option("--client-ca", clientCa,
                 "require client certificates issued by these CAs (PEM) on the HTTPS listener");
  app.add_option("--https-port-file", httpsPortFile, "write the HTTPS port here once listening");
  std::string providerName = "gce";
  app.add_option("--provider", providerName, "the metadata server to play: gce, ec2 or azure")
      ->check(CLI::IsMember({"gce", "ec2", "azure"}));
  std::vector<std::string> metadata, attributes;
  app.add_option("--metadata", metadata,
                 "PATH=VALUE: set a value below the provider's root (gce: computeMetadata/v1/, "
                 "ec2: latest/, azure: metadata/); an empty VALUE removes it; repeatable")
      ->type_name("PATH=VALUE");
  app.add_option("--attribute", attributes,
                 "KEY=VALUE: a GCE instance attribute (instance/attributes/KEY), e.g. "
                 "enable-guest-attributes=TRUE; repeatable")
      ->type_name("KEY=VALUE");
  bool imdsV1 = false, imdsDisabled = false;
  int hopLimit = 1;
  app.add_flag("--imds-v1", imdsV1, "ec2: allow IMDSv1 (HttpTokens optional; default required)");
  app.add_flag("--imds-disabled", imdsDisabled, "ec2: the endpoint is disabled (403 to all)");
  app.add_option("--hop-limit", hopLimit,
                 "ec2: PUT response hop limit, the IP TTL of token answers")
      ->check(CLI::Range(1, 64));
  app.add_flag("--quiet", quiet, "print nothing but errors");
  app.add_flag("--log-requests", logRequests, "print one line per metadata request on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  Options options;
  options.provider = *guestpulse::fake::parseProvider(providerName);
  options.ec2.tokensRequired = !imdsV1;
  options.ec2.endpointEnabled = !imdsDisabled;
  options.ec2.hopLimit = hopLimit;
  auto assignments = [&options](const std::vector<std::string>& items, const std::string& prefix) {
    for (const std::string& item : items) {
      std::size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "fake-mds: expected KEY=VALUE, got '" << item << "'\n";
        return false;
      }
      options.values[prefix + item.substr(0, eq)] = item.substr(eq + 1);
    }
    return true;
  };
  if (!assignments(metadata, "") || !assignments(attributes, "instance/attributes/")) return 2;
  if (!listen.empty()) {
    auto first = guestpulse::fake::parseListenAddress(listen.front());
    options.bindAddress = first->host;
    options.port = first->port;
    for (std::size_t i = 1; i < listen.size(); ++i) {
      options.extraListeners.push_back(*guestpulse::fake::parseListenAddress(listen[i]));
    }
  }
  if (logRequests) options.onRequest = logRequest;
  if (!httpsListen.empty()) {
    auto address = guestpulse::fake::parseListenAddress(httpsListen);
    if (!address || tlsCert.empty() || tlsKey.empty()) {
      std::cerr << "fake-mds: --https-listen needs a numeric HOST:PORT, --tls-cert and --tls-key\n";
      return 2;
    }
    options.https = guestpulse::fake::HttpsOptions{*address, tlsCert, tlsKey, clientCa, true};
  }

  // Signals are caught on this thread's own loop; the server keeps its own thread.
  boost::asio::io_context signalLoop;
  boost::asio::signal_set signals(signalLoop, SIGINT, SIGTERM);
  int caught = 0;
  signals.async_wait([&caught](const boost::system::error_code& ec, int signo) {
    if (!ec) caught = signo;
  });

  FakeMds server(options);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::vector<std::uint16_t> ports = server.ports();
  if (!portFile.empty() && !writePortFile(portFile, ports)) {
    std::cerr << "fake-mds: cannot write port file " << portFile << "\n";
    server.stop();
    return 1;
  }
  if (!httpsPortFile.empty() && !writePortFile(httpsPortFile, {server.httpsPort()})) {
    std::cerr << "fake-mds: cannot write port file " << httpsPortFile << "\n";
    server.stop();
    return 1;
  }
  if (!quiet && options.https)
    std::cerr << "fake-mds: listening on https://" << options.https->listen.host << ":"
              << server.httpsPort() << (clientCa.empty() ? "" : " (client certificates required)")
              << "\n";
  if (!quiet) {
    std::cerr << "fake-mds: provider " << guestpulse::fake::toString(options.provider) << "\n";
    std::vector<ListenAddress> all{{options.bindAddress, options.port}};
    all.insert(all.end(), options.extraListeners.begin(), options.extraListeners.end());
    for (std::size_t i = 0; i < all.size() && i < ports.size(); ++i) {
      bool v6 = all[i].host.find(':') != std::string::npos;
      std::cerr << "fake-mds: listening on http://" << (v6 ? "[" : "") << all[i].host
                << (v6 ? "]" : "") << ":" << ports[i] << "\n";
    }
  }

  signalLoop.run();
  if (!quiet) std::cerr << "fake-mds: signal " << caught << ", stopping\n";
  server.stop();
  return 0;
}
