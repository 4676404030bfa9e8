// assessWorkloadCerts, table-driven: the steps it asks for and every cause of the
// workload-certificate diagnosis, from hand-built facts.

#include <boost/asio/error.hpp>
#include <catch2/catch.hpp>
#include <functional>

#include "agent/diagnosis/workload_certs.hpp"

using namespace guestpulse;
using namespace std::chrono_literals;
using certs::CredentialProblem;

namespace {

MetadataResult answered(int status, std::string body = {}, bool flavor = true) {
  MetadataResult r;
  HttpResult http;
  http.response = HttpResponse{status, "", {}, std::move(body)};
  if (flavor) http.response->headers.emplace_back("Metadata-Flavor", "Google");
  r.attempts.push_back({http, 0ms});
  r.flavorOk = flavor;
  return r;
}

MetadataResult refused() {
  MetadataResult r;
  HttpResult http;
  http.failedStep = HttpStep::Connect;
  http.error = boost::asio::error::connection_refused;
  http.peer = "169.254.169.254:80";
  r.attempts.push_back({http, 0ms});
  return r;
}

WorkloadCertsFacts enabled() {
  WorkloadCertsFacts f;
  f.endpoint = "169.254.169.254:80";
  f.credentialsDir = "/run/secrets/workload-spiffe-credentials";
  f.fileDeadline = 5s;
  f.attribute = answered(200, "true");
  f.configStatus = answered(200, R"({"status":"OK"})");
  return f;
}

WorkloadCertsFacts withCredentials(CredentialProblem problem, std::string message) {
  auto f = enabled();
  f.credentialsLooked = true;
  certs::WorkloadCredentialsFinding finding;
  finding.problem = problem;
  finding.message = std::move(message);
  f.credentials = finding;
  return f;
}

struct Row {
  const char* name;
  std::function<WorkloadCertsFacts()> facts;
  State state;
  const char* cause;
  const char* inMessage;
  const char* inFix;
};

}  // namespace

TEST_CASE("assessWorkloadCerts: the steps, in order, only as far as needed",
          "[diagnosis][workload]") {
  WorkloadCertsFacts f;
  CHECK(assessWorkloadCerts(f).next == WorkloadStep::Attribute);
  f.askAttribute = false;
  CHECK(assessWorkloadCerts(f).next == WorkloadStep::ConfigStatus);
  f.askAttribute = true;
  f.attribute = answered(404);
  CHECK(assessWorkloadCerts(f).next == WorkloadStep::Verdict);  // not enabled: stop here
  f.attribute = answered(200, "TRUE");
  CHECK(assessWorkloadCerts(f).next == WorkloadStep::ConfigStatus);
  f.configStatus = answered(200, "{}");
  CHECK(assessWorkloadCerts(f).next == WorkloadStep::Credentials);
  f.configStatus = answered(404);
  CHECK(assessWorkloadCerts(f).next == WorkloadStep::Verdict);
}

TEST_CASE("assessWorkloadCerts: an unreachable server gives no verdict", "[diagnosis][workload]") {
  WorkloadCertsFacts f;
  f.endpoint = "169.254.169.254:80";
  f.attribute = refused();
  auto a = assessWorkloadCerts(f);
  CHECK(a.next == WorkloadStep::Verdict);
  CHECK(a.unreachable);
  CHECK_THAT(a.why, Catch::Contains("Connection refused"));
  CHECK(a.result.state == State::Ok);
  auto g = enabled();
  g.configStatus = answered(503);
  CHECK(assessWorkloadCerts(g).unreachable);
  g.configStatus = answered(200, "{}", false);  // a proxy answered
  CHECK(assessWorkloadCerts(g).unreachable);
}

TEST_CASE("assessWorkloadCerts: every cause from its facts", "[diagnosis][workload][linux-words]") {
  const std::vector<Row> rows = {
      {"attribute absent",
       [] {
         WorkloadCertsFacts f;
         f.attribute = answered(404);
         return f;
       },
       State::Ok, "", "not enabled (no instance attribute", ""},
      {"attribute false",
       [] {
         WorkloadCertsFacts f;
         f.attribute = answered(200, "false");
         return f;
       },
       State::Ok, "", "enable-workload-certificate=false", ""},
      {"config-status 404",
       [] {
         auto f = enabled();
         f.configStatus = answered(404, "feature not enabled");
         return f;
       },
       State::Ok, "workload_certs.not_configured", "not enabled for this VM",
       "probes.workload_certs.enabled: false"},
      {"config-status 412",
       [] {
         auto f = enabled();
         f.configStatus = answered(412, "<p>trust config missing</p>");
         return f;
       },
       State::Failed, "workload_certs.misconfigured", "trust config missing", "partner metadata"},
      {"config-status 200 with errors",
       [] {
         auto f = enabled();
         f.configStatus = answered(200, R"({"metadataAttributesErrors":{"x":"bad pool"}})");
         return f;
       },
       State::Failed, "workload_certs.misconfigured", "1 error(s)", "next refresh"},
      {"config-status 400",
       [] {
         auto f = enabled();
         f.configStatus = answered(400);
         return f;
       },
       State::Failed, "mds.header_rejected", "HTTP 400", "mangle"},
      {"credentials fine",
       [] { return withCredentials(CredentialProblem::None, "certificate spiffe://x valid"); },
       State::Ok, "", "config-status OK (status OK); certificate spiffe://x valid", ""},
      {"credentials missing",
       [] { return withCredentials(CredentialProblem::Missing, "certificates.pem is missing"); },
       State::Failed, "workload_certs.credentials_missing", "but certificates.pem is missing",
       "systemctl status google-guest-agent"},
      {"credentials unreadable in time",
       [] {
         auto f = enabled();
         f.credentialsLooked = true;
         f.credentialsTimedOut = true;
         return f;
       },
       State::Failed, "workload_certs.credentials_missing", "did not finish within 5s", "mount"},
      {"credentials invalid",
       [] { return withCredentials(CredentialProblem::Invalid, "private_key.pem does not match"); },
       State::Failed, "workload_certs.invalid", "does not match",
       "restart google-guest-agent so the refresher writes a fresh set"},
      {"credentials not valid yet",
       [] { return withCredentials(CredentialProblem::NotYetValid, "valid only from tomorrow"); },
       State::Failed, "workload_certs.invalid", "tomorrow", "chronyc tracking"},
      {"credentials expired",
       [] { return withCredentials(CredentialProblem::Expired, "expired 3h ago"); }, State::Failed,
       "workload_certs.expired", "expired", "no longer rotated"},
      {"credentials not rotated",
       [] { return withCredentials(CredentialProblem::NotRotated, "written 20h ago"); },
       State::Degraded, "workload_certs.not_rotated", "20h", "stopped replacing"},
      {"credentials expiring",
       [] { return withCredentials(CredentialProblem::Expiring, "expires in 2h"); },
       State::Degraded, "workload_certs.expiring", "2h", "should have been renewed"},
      {"OpenSSL cannot be loaded",
       [] {
         auto f = enabled();
         f.credentialsLooked = true;
         f.tlsProblem = "libssl.so.3: cannot open shared object file";
         return f;
       },
       State::Failed, "agent.tls_unavailable", "libssl.so.3", "libssl3"},
  };
  for (const auto& row : rows) {
    SECTION(row.name) {
      WorkloadCertsAssessment a = assessWorkloadCerts(row.facts());
      REQUIRE(a.next == WorkloadStep::Verdict);
      CHECK_FALSE(a.unreachable);
      INFO(a.result.cause << ": " << a.result.message << " | fix: " << a.result.fix);
      CHECK(a.result.state == row.state);
      CHECK(a.result.cause == row.cause);
      CHECK_THAT(a.result.message, Catch::Contains(row.inMessage));
      CHECK_THAT(a.result.fix, Catch::Contains(row.inFix));
    }
  }
}
