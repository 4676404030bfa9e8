#include "agent/diagnosis/workload_certs.hpp"

#include <boost/json.hpp>
#include <cctype>

#include "agent/core/text.hpp"
#include "agent/diagnosis/metadata_call.hpp"
#include "platform/tls_library.hpp"

namespace guestpulse {

namespace json = boost::json;

namespace {

std::string refresherHint(const platform::FixHints& h) {
  return "Google's guest agent (its workload certificate refresher, version 20231103.01 or "
         "later) writes these files: check it runs (" +
         h.guestAgentStatus + ") and its log (" + h.guestAgentLog + " | grep -i workload)";
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// More errors than this are counted (ConfigStatus::moreErrors), not kept.
constexpr std::size_t kMaxConfigErrors = 20;

void collectErrors(const json::value& value, const std::string& path, std::vector<std::string>& out,
                   std::size_t& more) {
  if (out.size() >= kMaxConfigErrors && value.kind() != json::kind::object &&
      value.kind() != json::kind::array && value.kind() != json::kind::null) {
    ++more;
    return;
  }
  switch (value.kind()) {
    case json::kind::string: {
      std::string text(value.get_string());
      if (!text.empty()) out.push_back(path + ": " + text);
      break;
    }
    case json::kind::object:
      for (const auto& member : value.get_object())
        collectErrors(member.value(), path + "." + std::string(member.key()), out, more);
      break;
    case json::kind::array: {
      std::size_t i = 0;
      for (const auto& item : value.get_array())
        collectErrors(item, path + "[" + std::to_string(i++) + "]", out, more);
      break;
    }
    case json::kind::null:
      break;
    default:
      out.push_back(path + ": " + json::serialize(value));
  }
}

// The metadata server could not be asked (down, throttled, intercepted): that is the
// metadata probe's finding, not this probe's.
bool unreachable(const MetadataResult& call) {
  if (call.attempts.empty()) return true;
  // An answer that came but could not be read (over the size limit, bad chunking, not
  // HTTP) is this endpoint's own finding: the metadata probe's call may be fine.
  if (call.last().malformed) return false;
  if (!call.last().ok() || !call.flavorOk) return true;
  int status = call.status();
  return status >= 500 || status == 429 || status == 408;
}

}  // namespace

ConfigStatus parseConfigStatus(std::string_view body) {
  ConfigStatus out;
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);  // at most 32 levels deep (json::parse_options)
  if (ec) {
    out.problem = ec == json::error::too_deep ? "JSON nested deeper than 32 levels"
                  : body.empty()              ? "an empty body, not JSON"
                                              : "not valid JSON (" + ec.message() + ")";
    return out;
  }
  if (!root.is_object()) {
    out.problem = "JSON, but not an object";
    return out;
  }
  out.parsed = true;
  for (const auto& member : root.get_object()) {
    std::string key(member.key());
    if (key == "status" && member.value().is_string()) {
      out.status = std::string(member.value().get_string());
      std::string s = lower(out.status);
      if (s.find("error") != std::string::npos || s.find("fail") != std::string::npos ||
          s.find("invalid") != std::string::npos)
        out.errors.push_back("status: " + out.status);
    } else if (lower(key).find("error") != std::string::npos) {
      collectErrors(member.value(), key, out.errors, out.moreErrors);
    }
  }
  return out;
}

bool attributeIsTrue(std::string_view value) {
  std::size_t first = value.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return false;
  std::size_t last = value.find_last_not_of(" \t\r\n");
  std::string_view v = value.substr(first, last - first + 1);
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

std::string bodySummary(std::string_view body, std::size_t limit) {
  std::string out;
  bool inTag = false, space = false;
  for (char c : body) {
    if (c == '<') {
      inTag = true;
      space = true;
      continue;
    }
    if (inTag) {
      if (c == '>') inTag = false;
      continue;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isspace(u) || u < 0x20) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > limit) out = out.substr(0, limit - 3) + "...";
  return out;
}

namespace {

WorkloadCertsAssessment verdict(ProbeResult result) {
  WorkloadCertsAssessment out;
  out.result = std::move(result);
  return out;
}

WorkloadCertsAssessment needs(WorkloadStep step) {
  WorkloadCertsAssessment out;
  out.next = step;
  return out;
}

WorkloadCertsAssessment cannotAsk(const std::string& what, const MetadataResult& call,
                                  const std::string& endpoint) {
  std::string why = what + ": ";
  if (call.attempts.empty()) {
    why += "no request made";
  } else {
    why += call.last().describe(endpoint);
    if (call.last().ok() && !call.flavorOk) why += " without Metadata-Flavor: Google";
  }
  WorkloadCertsAssessment out;
  out.unreachable = true;
  out.why = why;
  out.result = ProbeResult::ok("not checked yet: " + why +
                               " (the metadata probe reports the server's health)");
  out.result.details.emplace_back("not_rechecked", why);
  return out;
}

ProbeResult judgeCredentials(const WorkloadCertsFacts& f, const std::string& statusNote,
                             const platform::FixHints& h) {
  if (f.credentialsTimedOut || !f.credentials)
    return ProbeResult::failed(
        "workload_certs.credentials_missing",
        "reading " + f.credentialsDir + " did not finish within " + formatDuration(f.fileDeadline),
        "the directory is on a stuck file system; check its mount");
  const certs::WorkloadCredentialsFinding& finding = *f.credentials;
  using certs::CredentialProblem;
  const std::string renew = "restart " + h.guestAgent +
                            " so the refresher writes a fresh set, and check its log (" +
                            h.guestAgentLog + " | grep -i workload)";
  ProbeResult result;
  switch (finding.problem) {
    case CredentialProblem::None:
      result = ProbeResult::ok(statusNote + "; " + finding.message);
      break;
    case CredentialProblem::Missing:
      result = ProbeResult::failed("workload_certs.credentials_missing",
                                   statusNote + ", but " + finding.message, refresherHint(h));
      break;
    case CredentialProblem::Invalid:
      result = ProbeResult::failed("workload_certs.invalid", finding.message, renew);
      break;
    case CredentialProblem::NotYetValid:
      result = ProbeResult::failed(
          "workload_certs.invalid", finding.message,
          "the VM's clock is wrong: check time synchronisation (" + h.checkClock + ")");
      break;
    case CredentialProblem::Expired:
      result = ProbeResult::failed("workload_certs.expired", finding.message,
                                   "the credentials are no longer rotated: " + renew);
      break;
    case CredentialProblem::NotRotated:
      result =
          ProbeResult::degraded("workload_certs.not_rotated", finding.message,
                                "the refresher has stopped replacing the credentials: " + renew);
      break;
    case CredentialProblem::Expiring:
      result = ProbeResult::degraded("workload_certs.expiring", finding.message,
                                     "the credentials should have been renewed by now: " + renew);
      break;
  }
  if (finding.leaf) {
    result.details.emplace_back("certificate", finding.leaf->name());
    result.details.emplace_back("not_after", formatRfc3339(finding.leaf->notAfter));
  }
  if (finding.sinceWritten)
    result.details.emplace_back(
        "written_s_ago",
        std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(*finding.sinceWritten).count()));
  return result;
}

}  // namespace

WorkloadCertsAssessment assessWorkloadCerts(const WorkloadCertsFacts& f,
                                            const platform::FixHints& h) {
  if (f.askAttribute) {
    if (!f.attribute) return needs(WorkloadStep::Attribute);
    const MetadataResult& attribute = *f.attribute;
    if (attribute.flavorOk && attribute.status() == 404)
      return verdict(
          ProbeResult::ok("workload certificates are not enabled (no instance attribute "
                          "enable-workload-certificate); gce-workload-certificates not queried"));
    if (unreachable(attribute) || attribute.status() != 200)
      return cannotAsk("GET " + std::string(kWorkloadCertAttribute), attribute, f.endpoint);
    if (!attributeIsTrue(attribute.body()))
      return verdict(
          ProbeResult::ok("workload certificates are not enabled "
                          "(enable-workload-certificate=" +
                          quoteOutside(bodySummary(attribute.body(), 40)) +
                          "); gce-workload-certificates not queried"));
  }

  if (!f.configStatus) return needs(WorkloadStep::ConfigStatus);
  const MetadataResult& status = *f.configStatus;
  const std::string what = "GET " + std::string(kWorkloadConfigStatus);
  if (unreachable(status)) return cannotAsk(what, status, f.endpoint);
  const std::string unreadable =
      "the metadata server answers config-status with something that is not a usable "
      "answer: if it lasts, look for a proxy or middlebox in the path (NO_PROXY), then "
      "report it to Google Cloud support with this message";
  if (!status.last().ok())
    return verdict(ProbeResult::failed("workload_certs.bad_response",
                                       what + ": " + status.last().describe(f.endpoint),
                                       unreadable));
  const int code = status.status();
  const std::string answered = what + ": HTTP " + std::to_string(code);
  if (code == 404) {
    // Two flavours in GCE's guides: the feature is off for this VM, or the VM does not
    // support it at all (Google's generic "not found" page). Neither is an error.
    bool featureOff = lower(status.body()).find("not enabled") != std::string::npos;
    return verdict(ProbeResult::info(
        "workload_certs.not_configured",
        answered + (featureOff ? ": the workload certificate feature is not enabled for this VM"
                               : ": this VM has no workload certificate configuration"),
        "nothing to do unless this VM should have workload identity certificates; then "
        "configure managed workload identities for it. To skip this check: "
        "probes.workload_certs.enabled: false"));
  }
  if (code == 412) {
    std::string said = quoteOutside(bodySummary(status.body(), status.body().size()));
    return verdict(ProbeResult::failed(
        "workload_certs.misconfigured",
        answered + " (Precondition Failed)" + (said.empty() ? "" : ": " + said),
        "the workload identity configuration of this VM is incomplete or invalid: fix what the "
        "message names (the VM's workload identity partner metadata and trust configuration), "
        "then wait for the next refresh"));
  }
  if (code != 200) return verdict(diagnoseMetadataCall(status, {f.endpoint, what}, h));
  ConfigStatus parsed = parseConfigStatus(status.body());
  if (!parsed.parsed)
    return verdict(ProbeResult::failed("workload_certs.bad_response",
                                       answered + " with " + parsed.problem + " (" +
                                           std::to_string(status.body().size()) + " bytes: '" +
                                           quoteOutside(status.body(), 60) + "')",
                                       unreadable));
  if (!parsed.errors.empty()) {
    // The server's own words, each quoted short; a flood of them is counted.
    std::string listed;
    std::size_t shown = 0;
    for (const auto& error : parsed.errors) {
      if (shown == 5) break;
      listed += (listed.empty() ? "" : "; ") + quoteOutside(error);
      ++shown;
    }
    const std::size_t total = parsed.errors.size() + parsed.moreErrors;
    if (total > shown) listed += "; and " + std::to_string(total - shown) + " more";
    ProbeResult misconfigured = ProbeResult::failed(
        "workload_certs.misconfigured",
        answered + " with " + std::to_string(total) + " error(s): " + listed,
        "fix the workload identity configuration the errors name (instance attributes or "
        "partner metadata), then wait for the next refresh (10 minutes)");
    misconfigured.details.emplace_back("config_errors", std::to_string(total));
    return verdict(std::move(misconfigured));
  }

  if (!f.credentialsLooked) return needs(WorkloadStep::Credentials);
  if (!f.tlsProblem.empty())
    return verdict(ProbeResult::failed(
        "agent.tls_unavailable",
        "cannot check the credentials in " + f.credentialsDir + ": " + f.tlsProblem,
        platform::kTlsLibraryFix));
  std::string note = "config-status OK";
  if (!parsed.status.empty()) note += " (status " + quoteOutside(parsed.status) + ")";
  return verdict(judgeCredentials(f, note, h));
}

}  // namespace guestpulse
