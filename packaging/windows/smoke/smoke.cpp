// Smoke test of the Windows cross build: each library the agent uses, used the way the agent
// uses it (Asio coroutines, Beast HTTP over TCP and TLS, a timer deadline, Boost.JSON and
// Boost.URL compiled from their headers, static OpenSSL, yaml-cpp, spdlog+fmt header-only,
// CLI11), in one program that ctest runs under wine. Network traffic stays on 127.0.0.1.
#ifndef _WIN32
#error "a Windows program: build it with packaging/windows/toolchain-mingw64.cmake"
#endif

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/json/src.hpp>
#include <boost/url.hpp>
#include <boost/url/src.hpp>
#include <catch2/catch.hpp>

static_assert(_WIN32_WINNT >= 0x0A00, "the toolchain file targets Windows 10 / Server 2016");

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Response = http::response<http::string_body>;
using namespace std::chrono_literals;

// Hands what a coroutine threw to io_context::run's caller, so Catch reports it.
void rethrow(std::exception_ptr error) {
  if (error) std::rethrow_exception(error);
}

tcp::endpoint loopback(unsigned short port = 0) {
  return {asio::ip::make_address_v4("127.0.0.1"), port};
}

// Answers one request with a JSON body naming the request's target and Metadata-Flavor.
template <class Stream>
asio::awaitable<void> serveOne(Stream& stream) {
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  co_await http::async_read(stream, buffer, request, asio::use_awaitable);
  Response response{http::status::ok, request.version()};
  response.set(http::field::content_type, "application/json");
  boost::json::object body;
  body["target"] = std::string(request.target());
  body["flavor"] = std::string(request["Metadata-Flavor"]);
  response.body() = boost::json::serialize(body);
  response.prepare_payload();
  co_await http::async_write(stream, response, asio::use_awaitable);
}

template <class Stream>
asio::awaitable<Response> get(Stream& stream, std::string_view target) {
  http::request<http::string_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "localhost");
  request.set("Metadata-Flavor", "Google");
  co_await http::async_write(stream, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  Response response;
  co_await http::async_read(stream, buffer, response, asio::use_awaitable);
  co_return response;
}

std::string pemOf(int (*write)(BIO*, void*), void* object) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  REQUIRE(write(bio.get(), object) == 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

struct Identity {
  std::string certificatePem;
  std::string keyPem;
};

// A self-signed P-256 certificate for "localhost", made at test time.
Identity makeLocalhostIdentity() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  REQUIRE(cert);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                                   std::pair{NID_subject_alt_name, "DNS:localhost"}}) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    REQUIRE(extension);
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
  auto writeCert = [](BIO* bio, void* x) { return PEM_write_bio_X509(bio, static_cast<X509*>(x)); };
  auto writeKey = [](BIO* bio, void* k) {
    return PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr,
                                    nullptr);
  };
  return {pemOf(writeCert, cert.get()), pemOf(writeKey, key.get())};
}

struct TlsResult {
  boost::system::error_code handshake;
  int protocol = 0;
  long verifyResult = -1;
  std::optional<Response> response;
};

// One HTTPS GET over loopback: the client trusts the server's certificate (loaded from PEM)
// and checks that it names `expectedHost`.
TlsResult httpsGetOverLoopback(const std::string& expectedHost) {
  const Identity identity = makeLocalhostIdentity();
  ssl::context serverContext(ssl::context::tls_server);
  serverContext.use_certificate_chain(asio::buffer(identity.certificatePem));
  serverContext.use_private_key(asio::buffer(identity.keyPem), ssl::context::pem);
  ssl::context clientContext(ssl::context::tls_client);
  clientContext.add_certificate_authority(asio::buffer(identity.certificatePem));
  clientContext.set_verify_mode(ssl::verify_peer);

  asio::io_context io;
  tcp::acceptor acceptor(io, loopback());
  TlsResult result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        ssl::stream<tcp::socket> stream(co_await acceptor.async_accept(asio::use_awaitable),
                                        serverContext);
        auto [error] = co_await stream.async_handshake(ssl::stream_base::server,
                                                       asio::as_tuple(asio::use_awaitable));
        if (!error) co_await serveOne(stream);
      },
      rethrow);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        ssl::stream<tcp::socket> stream(io, clientContext);
        REQUIRE(SSL_set_tlsext_host_name(stream.native_handle(), expectedHost.c_str()) == 1);
        // OpenSSL's own name check, as the agent's TLS client does.
        REQUIRE(SSL_set1_host(stream.native_handle(), expectedHost.c_str()) == 1);
        co_await stream.next_layer().async_connect(acceptor.local_endpoint(), asio::use_awaitable);
        std::tie(result.handshake) = co_await stream.async_handshake(
            ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
        result.verifyResult = SSL_get_verify_result(stream.native_handle());
        if (result.handshake) {
          // The server's handshake fails too once the client gives up; nothing more to read.
          stream.next_layer().close();
          co_return;
        }
        result.protocol = SSL_version(stream.native_handle());
        result.response = co_await get(stream, "/computeMetadata/v1/instance/hostname");
      },
      rethrow);
  io.run_for(60s);
  return result;
}

}  // namespace

TEST_CASE("Beast GET over loopback with Asio coroutines, Boost.URL and Boost.JSON") {
  asio::io_context io;
  tcp::acceptor acceptor(io, loopback());
  const std::string text = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) +
                           "/computeMetadata/v1/instance/id?alt=json";
  const boost::urls::url_view url = boost::urls::parse_uri(text).value();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        co_await serveOne(socket);
      },
      rethrow);
  std::optional<Response> response;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket socket(io);
        co_await socket.async_connect(loopback(url.port_number()), asio::use_awaitable);
        response = co_await get(socket, url.encoded_target());
      },
      rethrow);
  io.run_for(30s);

  REQUIRE(response);
  CHECK(response->result() == http::status::ok);
  const boost::json::object body = boost::json::parse(response->body()).as_object();
  CHECK(body.at("target").as_string() == "/computeMetadata/v1/instance/id?alt=json");
  CHECK(body.at("flavor").as_string() == "Google");
}

TEST_CASE("A steady_timer deadline ends a read the peer never answers") {
  asio::io_context io;
  tcp::acceptor acceptor(io, loopback());
  tcp::socket silentPeer(io);  // accepted, never writes
  acceptor.async_accept(silentPeer, [](boost::system::error_code) {});
  boost::system::error_code readError;
  std::chrono::steady_clock::duration waited{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket socket(io);
        co_await socket.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
        asio::steady_timer deadline(io, 300ms);
        deadline.async_wait([&](boost::system::error_code error) {
          if (!error) socket.cancel();
        });
        const auto started = std::chrono::steady_clock::now();
        char byte = 0;
        auto [error, size] = co_await socket.async_read_some(asio::buffer(&byte, 1),
                                                             asio::as_tuple(asio::use_awaitable));
        waited = std::chrono::steady_clock::now() - started;
        readError = error;
        deadline.cancel();
      },
      rethrow);
  io.run_for(30s);

  CHECK(readError == asio::error::operation_aborted);
  CHECK(waited >= 250ms);  // Windows timers tick in ~16 ms steps
  CHECK(waited < 10s);
}

TEST_CASE("HTTPS GET over loopback with static OpenSSL: TLS 1.3, certificate verified") {
  const TlsResult result = httpsGetOverLoopback("localhost");
  REQUIRE_FALSE(result.handshake);
  CHECK(result.protocol == TLS1_3_VERSION);
  CHECK(result.verifyResult == X509_V_OK);
  REQUIRE(result.response);
  CHECK(result.response->result() == http::status::ok);
  CHECK(boost::json::parse(result.response->body()).at("target").as_string() ==
        "/computeMetadata/v1/instance/hostname");
}

TEST_CASE("The TLS handshake fails when the certificate names another host") {
  const TlsResult result = httpsGetOverLoopback("metadata.google.internal");
  CHECK(result.handshake);
  CHECK(result.verifyResult == X509_V_ERR_HOSTNAME_MISMATCH);
  CHECK_FALSE(result.response);
}

TEST_CASE("yaml-cpp parses, CLI11 parses a command line, spdlog formats a line") {
  const YAML::Node config = YAML::Load(
      "probes:\n  interval_seconds: 30\n  providers: [gce, ec2, azure]\n"
      "serial:\n  port: COM1\n");
  CHECK(config["probes"]["interval_seconds"].as<int>() == 30);
  CHECK(config["probes"]["providers"].size() == 3);
  CHECK(config["serial"]["port"].as<std::string>() == "COM1");

  CLI::App app{"guestpulse smoke"};
  std::string configPath;
  bool once = false;
  app.add_option("--config", configPath)->required();
  app.add_flag("--once", once);
  const char* argv[] = {"guestpulse.exe", "--once", "--config",
                        "C:\\ProgramData\\guestpulse\\guestpulse.yaml"};
  app.parse(4, argv);
  CHECK(once);
  CHECK(configPath == "C:\\ProgramData\\guestpulse\\guestpulse.yaml");

  std::ostringstream out;
  spdlog::logger logger("smoke", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger.set_pattern("%l [%n] %v");
  logger.info("config {} interval {}s", configPath, config["probes"]["interval_seconds"].as<int>());
  CHECK(out.str() ==
        "info [smoke] config C:\\ProgramData\\guestpulse\\guestpulse.yaml interval 30s" +
            std::string(spdlog::details::os::default_eol));
}
