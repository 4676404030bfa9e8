// Fuzz target: an HTTP response as the agent's client reads it (the real exchange code
// over an in-memory stream, with the real limits), then every reading of the result: the
// metadata-call diagnosis, the workload-certificate assessment of a config-status answer,
// and the bounds a result gets before it leaves a probe.

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

#include "agent/core/text.hpp"
#include "agent/diagnosis/metadata_call.hpp"
#include "agent/diagnosis/workload_certs.hpp"
#include "agent/net/http_exchange.hpp"
#include "agent/probes/probe.hpp"

using namespace guestpulse;

namespace {

// Beast's in-memory stream with the deadline calls the exchange makes (a no-op here: the
// peer's bytes are all there, then it closes).
struct FuzzStream : boost::beast::test::stream {
  using boost::beast::test::stream::stream;
  void expires_after(std::chrono::steady_clock::duration) {}
  void expires_never() {}
};

void checkBounded(const ProbeResult& raw) {
  ProbeResult r = boundedResult(raw);
  for (const std::string* s : {&r.cause, &r.message, &r.fix})
    if (s->size() > kMaxResultText || hasControls(*s)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::asio::io_context io;
  FuzzStream client(io);
  boost::beast::test::stream server(io);
  client.connect(server);
  // What the client reads is its own input: the answer, then end of stream (the peer
  // closes after what it sent). The request it writes lands in the server's input.
  client.append(std::string_view(reinterpret_cast<const char*>(data), size));
  client.close_remote();
  HttpRequest request;
  request.host = "169.254.169.254";
  request.target = "/computeMetadata/v1/instance/gce-workload-certificates/config-status";
  request.headers = {{"Metadata-Flavor", "Google"}};
  HttpResult result;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        ExchangeClock clock(std::chrono::seconds(5));
        co_await exchangeOver(client, request, clock, result);
      },
      boost::asio::detached);
  io.run();
  if (result.response && result.response->body.size() > request.bodyLimit) __builtin_trap();

  MetadataResult call;
  call.attempts.push_back({result, Duration(0)});
  if (result.response) {
    auto flavor = result.response->header("Metadata-Flavor");
    call.flavorOk = flavor && *flavor == "Google";
  }
  checkBounded(diagnoseMetadataCall(call, {"169.254.169.254:80", "GET instance/id"}));
  WorkloadCertsFacts facts;
  facts.endpoint = "169.254.169.254:80";
  facts.askAttribute = false;
  facts.configStatus = call;
  WorkloadCertsAssessment a = assessWorkloadCerts(facts);
  if (a.next == WorkloadStep::Verdict) checkBounded(a.result);
  return 0;
}
