#include "agent/certs/workload_credentials.hpp"

#include <filesystem>
#include <system_error>

namespace guestpulse::certs {

namespace {

std::string ago(Duration d) { return formatDuration(d) + " ago"; }

std::string describeLeaf(const CertificateInfo& leaf) { return "certificate " + leaf.name(); }

}  // namespace

WorkloadCredentialFiles readWorkloadCredentials(const std::string& dir) {
  WorkloadCredentialFiles files;
  files.dir = dir;
  std::error_code ec;
  files.dirExists = std::filesystem::is_directory(dir, ec);
  files.certificates = readPemFile(joinPath(dir, kWorkloadCertificatesFile));
  files.privateKey = readPemFile(joinPath(dir, kWorkloadPrivateKeyFile));
  files.trustAnchors = readPemFile(joinPath(dir, kWorkloadTrustAnchorsFile));
  return files;
}

WorkloadCredentialsFinding inspectWorkloadCredentials(const WorkloadCredentialFiles& files,
                                                      WallTime now,
                                                      const WorkloadCredentialsPolicy& policy) {
  WorkloadCredentialsFinding finding;
  auto fail = [&finding](CredentialProblem problem, std::string message) {
    finding.problem = problem;
    finding.message = std::move(message);
    return finding;
  };

  if (!files.dirExists)
    return fail(CredentialProblem::Missing,
                files.dir + " does not exist: no workload credentials have been written");
  for (const PemFile* file : {&files.certificates, &files.privateKey, &files.trustAnchors}) {
    if (!file->exists) return fail(CredentialProblem::Missing, file->error);
    if (!file->ok()) return fail(CredentialProblem::Invalid, file->error);
  }

  CertificateSet chain = CertificateSet::parse(files.certificates.text, files.certificates.path);
  if (!chain.ok()) return fail(CredentialProblem::Invalid, chain.error());
  const CertificateInfo& leaf = chain.certificates().front();
  finding.leaf = leaf;
  if (files.certificates.modified)
    finding.sinceWritten = std::chrono::duration_cast<Duration>(now - *files.certificates.modified);

  PrivateKey key = PrivateKey::parse(files.privateKey.text, files.privateKey.path);
  if (!key.ok()) return fail(CredentialProblem::Invalid, key.error());
  if (!keyMatches(chain, key))
    return fail(CredentialProblem::Invalid,
                files.privateKey.path + " is not the key of " + describeLeaf(leaf) + " in " +
                    files.certificates.path + " (the files are from different rotations)");

  CertificateSet anchors = CertificateSet::parse(files.trustAnchors.text, files.trustAnchors.path);
  if (!anchors.ok()) return fail(CredentialProblem::Invalid, anchors.error());
  ChainVerdict verdict = verifyChain(chain, anchors);
  if (!verdict.ok)
    return fail(
        CredentialProblem::Invalid,
        describeLeaf(leaf) + " in " + files.certificates.path + " does not chain to the " +
            std::to_string(anchors.certificates().size()) + " trust anchor(s) in " +
            files.trustAnchors.path + ": " + verdict.error +
            (verdict.depth > 0 ? " (at chain depth " + std::to_string(verdict.depth) + ")" : ""));

  finding.validity = assessValidity(leaf.notBefore, leaf.notAfter, now, policy.validity);
  const ValidityVerdict& v = finding.validity;
  const std::string until = formatRfc3339(leaf.notAfter);
  switch (v.validity) {
    case Validity::NotYetValid:
      return fail(CredentialProblem::NotYetValid,
                  describeLeaf(leaf) + " is not valid before " + formatRfc3339(leaf.notBefore) +
                      " (in " + formatDuration(v.startsIn) + "): this VM's clock is behind");
    case Validity::Expired:
      return fail(CredentialProblem::Expired,
                  describeLeaf(leaf) + " expired at " + until + " (" + ago(-v.remaining) + ")");
    case Validity::Expiring:
    case Validity::Valid:
      break;
  }
  bool stalled =
      finding.sinceWritten &&
      rotationStalled(*files.certificates.modified, leaf.lifetime(), now, policy.rotationSlack);
  std::string written = finding.sinceWritten ? "; " + std::string(kWorkloadCertificatesFile) +
                                                   " written " + ago(*finding.sinceWritten)
                                             : "";
  if (v.validity == Validity::Expiring)
    return fail(CredentialProblem::Expiring, describeLeaf(leaf) + " expires at " + until + ", in " +
                                                 formatDuration(v.remaining) + " (less than " +
                                                 formatDuration(v.warnWithin) + " left)" + written);
  if (stalled)
    return fail(CredentialProblem::NotRotated,
                files.certificates.path + " was last written " + ago(*finding.sinceWritten) +
                    ", more than half the " + formatDuration(leaf.lifetime()) + " lifetime of " +
                    describeLeaf(leaf) + ": rotation has stopped (expires " + until + ")");
  finding.message = describeLeaf(leaf) + " valid until " + until + " (" +
                    formatDuration(v.remaining) + " left), chains to " + files.trustAnchors.path +
                    written;
  return finding;
}

}  // namespace guestpulse::certs
