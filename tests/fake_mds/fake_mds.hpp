#pragma once
// A fake cloud metadata server for integration tests, end-to-end tests and the demo. It
// plays one of three providers (Options::provider), each as its documented service
// behaves, closely enough that the agent's diagnosis and the providers' own SDK clients
// can be tested against it (docs/fake-mds.md lists what each one serves):
//   - gce:   /computeMetadata/v1/... values, directory listings, 301 to the trailing-slash
//            form, ?recursive=true and ?alt=json|text with GCE's value types,
//            ?wait_for_change, guest attributes (403 unless enable-guest-attributes is
//            TRUE), service-account tokens, gce-workload-certificates/config-status;
//            403 without `Metadata-Flavor: Google` or with `X-Forwarded-For`; Google's
//            HTML error pages and GCE's response headers.
//   - ec2:   IMDSv2 (PUT /latest/api/token with a TTL, tokens required unless IMDSv1 is
//            allowed, 400/401/403 as AWS documents), the token answer sent with the IP
//            TTL set to the PUT response hop limit, /latest/meta-data/..., IAM role
//            credentials, /latest/dynamic/instance-identity/document.
//   - azure: /metadata/instance (route filtering, format=text), the managed identity
//            token endpoint, `Metadata: true` and api-version checks with Azure's JSON
//            error bodies.
// It speaks HTTP/1.1 (keep-alive, any number of concurrent connections). 400 and close on
// a malformed request, 405 for unsupported methods.
// Faults (status, latency, TCP reset, hang, missing flavor header) are injected at run
// time through this C++ API or through the HTTP control API under /_fake/ on the same
// listener, whatever the provider; control requests need no flavor header, are never
// faulted and never logged. A status fault answers with the provider's own error page.
//
// Control API (JSON in and out):
//   POST   /_fake/faults            {"path","exact","method","status","body","latency_ms",
//                                     "reset","hang","no_flavor","count"} or an array of them
//   GET    /_fake/faults            the active rules with their remaining counts
//   DELETE /_fake/faults[/<id>]     clear all rules (or one)
//   GET    /_fake/requests[?since=<seq>]   the request log;  DELETE clears it
//   PUT    /_fake/metadata/<path>   body = value at <path> below the provider's root
//                                   (gce: computeMetadata/v1/, ec2: latest/, azure:
//                                   metadata/); DELETE removes
//   GET    /_fake/metadata          every value as {"<path>": "value"}
//   GET    /_fake/guest-attributes  {"<ns>/<key>": "value"} (gce)
//   GET    /_fake/provider          {"provider": "gce|ec2|azure"}
//   GET    /_fake/ec2/options       {"http_tokens","http_endpoint","hop_limit","tokens"}
//   PUT    /_fake/ec2/options       any of "http_tokens" (required|optional), "http_endpoint"
//                                   (enabled|disabled), "hop_limit" (1..64)
//   DELETE /_fake/ec2/tokens        forget every issued token (their next use answers 401)
//   GET    /_fake/ping              "ok"
//
// Threads: the server owns one io_context thread; every public member function is
// thread-safe and may be called before start(), while running and after stop().
//
// Network: binds only to the addresses it is given (default 127.0.0.1, ephemeral port)
// and never opens an outgoing connection.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guestpulse::fake {

// A numeric IP address and a port; port 0 asks for an ephemeral port.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

enum class Provider { Gce, Ec2, Azure };
std::string_view toString(Provider provider);  // "gce", "ec2", "azure"
std::optional<Provider> parseProvider(std::string_view text);

// The instance metadata options of an EC2 instance (ModifyInstanceMetadataOptions).
struct Ec2Options {
  bool tokensRequired = true;   // HttpTokens: required (IMDSv2 only) or optional (v1 too)
  bool endpointEnabled = true;  // HttpEndpoint: disabled answers 403 to everything
  int hopLimit = 1;             // HttpPutResponseHopLimit: IP TTL of token answers, 1..64
};

// Parses "HOST:PORT" or "[V6]:PORT" where HOST is a numeric IPv4/IPv6 address (no names:
// the fake must never depend on DNS). nullopt when malformed.
std::optional<ListenAddress> parseListenAddress(std::string_view text);

// One fault-injection rule. It matches a non-control request whose path (the target
// without its query) starts with `path` (or equals it when `exactPath`) and whose method
// equals `method` (any method when empty). The first matching rule wins and its count is
// decremented; a rule with count -1 applies until removed.
//
// Effects, in order: wait `latency`; then `reset` (SO_LINGER 0 + close: the client sees a
// TCP RST, nothing is sent) or `hang` (never answer; the connection is held until the
// client closes it) or `status` (answer with that status and `body`, or a Google-style
// page when `body` is empty) or answer normally. `noFlavor` strips the Metadata-Flavor
// header from whatever answer is sent, as a transparent proxy would.
struct FaultRule {
  std::string path = "/";
  bool exactPath = false;
  std::string method;
  std::optional<int> status;
  std::string body;
  std::chrono::milliseconds latency{0};
  bool reset = false;
  bool hang = false;
  bool noFlavor = false;
  int count = -1;
  std::uint64_t id = 0;  // assigned by addFault(); ignored on input
};

// Shorthands for the common rules; `path` is a prefix as described above.
FaultRule statusFault(int status, std::string path = "/", int count = -1);
FaultRule latencyFault(std::chrono::milliseconds delay, std::string path = "/", int count = -1);
FaultRule resetFault(std::string path = "/", int count = -1);
FaultRule hangFault(std::string path = "/", int count = -1);
FaultRule noFlavorFault(std::string path = "/", int count = -1);
// GCE answers 403 to guest-attribute calls when enable-guest-attributes is off (which
// the fake also does by itself while the attribute is not TRUE).
FaultRule guestAttributesDisabledFault(int count = -1);

// The GCE instance attribute that turns guest attributes on, and a value map that sets
// it (for Options::values), since a fresh fake, like a fresh VM, has them off.
inline constexpr std::string_view kEnableGuestAttributes =
    "instance/attributes/enable-guest-attributes";
std::map<std::string, std::string> guestAttributesEnabled();

// One non-control request, recorded when it has been read. `status` is 0 until the
// answer is ready (it is logged just before being written, so a client that has its
// answer finds it here), and stays 0 for reset, hang and connections closed first.
struct RequestRecord {
  std::uint64_t seq = 0;  // 1, 2, 3... in arrival order; never reused, even after clear
  double tMs = 0;         // arrival, ms since start() on the steady clock
  std::string wall;       // arrival, RFC 3339 UTC with milliseconds
  std::string method;     // empty when the request line itself was malformed
  std::string target;     // as sent, query included
  int status = 0;
  bool flavor = false;    // carried `Metadata-Flavor: Google`
  std::string body;       // request body, truncated to 1 KiB
  std::string fault;      // "", "status", "latency", "reset", "hang", "no_flavor",
                          // "malformed" (400 from the parser); joined by '+'
  double durationMs = 0;  // arrival to answer ready (0 while unanswered)
  int ipTtl = 0;          // the IP TTL the socket had when the answer left, when the fake
                          // set one (EC2 token answers: the hop limit); 0 otherwise
};

// An HTTPS listener (GCE's mTLS metadata endpoint): after the TLS handshake it behaves
// exactly like the plain listeners. With `clientCaFile` it asks for a client certificate
// and verifies it against those CAs (SSL_VERIFY_PEER, plus FAIL_IF_NO_PEER_CERT when
// `requireClientCert`): a missing or untrusted one ends the handshake with an alert.
struct HttpsOptions {
  ListenAddress listen{"127.0.0.1", 0};
  std::string certFile;      // server certificate chain, PEM
  std::string keyFile;       // its private key, PEM
  std::string clientCaFile;  // CAs for client certificates; empty = none asked for
  bool requireClientCert = true;
};

struct Options {
  Provider provider = Provider::Gce;
  Ec2Options ec2;  // Provider::Ec2 only
  // Values set over the provider's defaults before start ({"instance/attributes/x": "y"};
  // paths as for FakeMds::setValue). An empty value removes a default.
  std::map<std::string, std::string> values;
  std::string bindAddress = "127.0.0.1";
  std::uint16_t port = 0;
  std::vector<ListenAddress> extraListeners;   // more plain-HTTP listeners, same behaviour
  std::optional<HttpsOptions> https;           // see HttpsOptions; FakeMds::httpsPort()
  std::size_t requestLogCapacity = 100000;     // oldest entries are dropped beyond this
  std::chrono::seconds maxWaitForChange{300};  // cap on timeout_sec (GCE's default is 60)
  std::chrono::seconds idleTimeout{120};       // keep-alive connection idle limit
  // Called on the server thread once per request, when it is answered, reset, starts
  // hanging or fails to parse. Must not block; must not call stop().
  std::function<void(const RequestRecord&)> onRequest;
};

class Server;  // the implementation, internal to fake_mds_lib

class FakeMds {
 public:
  explicit FakeMds(Options options = {});
  ~FakeMds();  // stop()
  FakeMds(const FakeMds&) = delete;
  FakeMds& operator=(const FakeMds&) = delete;

  // Binds every listener, starts the server thread and returns once accepting.
  // Throws std::runtime_error naming the address when a bind fails. Call at most once.
  void start();
  // Graceful: stops accepting, closes every connection (pending waits and hangs end),
  // then joins the thread; forces the loop to stop if that takes more than 2 s.
  // Idempotent.
  void stop();

  std::uint16_t port() const;                // the first listener's bound port (0 before start)
  std::vector<std::uint16_t> ports() const;  // every listener, in Options order
  std::string endpoint() const;              // "127.0.0.1:PORT" of the first listener
  std::uint16_t httpsPort() const;           // the HTTPS listener's port (0 without one)
  // TLS handshakes completed and failed on the HTTPS listener.
  std::uint64_t tlsHandshakes() const;
  std::uint64_t tlsHandshakeFailures() const;

  std::uint64_t addFault(FaultRule rule);  // returns the rule's id
  bool removeFault(std::uint64_t id);
  void clearFaults();
  std::vector<FaultRule> faults() const;  // active rules, remaining counts

  std::vector<RequestRecord> requests() const;
  void clearRequests();

  Provider provider() const;
  Ec2Options ec2Options() const;
  void setEc2Options(const Ec2Options& options);  // throws std::invalid_argument (hop limit)
  std::size_t ec2Tokens() const;                  // tokens issued and not yet expired
  void clearEc2Tokens();

  // Metadata values. `path` is relative to the provider's root: /computeMetadata/v1/
  // ("instance/id"; a leading "/computeMetadata/v1/" is accepted), /latest/
  // ("meta-data/instance-id") or /metadata/ ("instance/compute/location"). Setting a value wakes
  // wait_for_change requests. Throws std::invalid_argument for an empty path or one ending in '/'.
  void setValue(std::string_view path, std::string value);
  bool removeValue(std::string_view path);
  std::optional<std::string> value(std::string_view path) const;
  std::map<std::string, std::string> values() const;
  // GCE guest attributes as {"<ns>/<key>": value}.
  std::map<std::string, std::string> guestAttributes() const;

  // Requests currently held by ?wait_for_change=true (their baseline ETag already taken),
  // so a test can change a value knowing the wait will see it.
  std::size_t waitingRequests() const;

  // Blocks until `condition()` is true or `timeout` passes; re-evaluates the condition
  // whenever a request is logged or answered, a value or fault changes, or a
  // wait_for_change starts or ends. Returns the last evaluation. Lets tests wait for the
  // agent without fixed sleeps.
  bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

 private:
  std::unique_ptr<Server> impl_;
};

}  // namespace guestpulse::fake
