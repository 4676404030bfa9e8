#include "agent/certs/mtls_credentials.hpp"

namespace guestpulse::certs {

MtlsCredentialFiles readMtlsCredentials(const std::string& rootCa, const std::string& client) {
  return {readPemFile(rootCa), readPemFile(client)};
}

MtlsCredentialsFinding inspectMtlsCredentials(const MtlsCredentialFiles& files, WallTime now,
                                              const ValidityPolicy& policy) {
  MtlsCredentialsFinding finding;
  auto fail = [&finding](MtlsFileProblem problem, std::string message) {
    finding.problem = problem;
    finding.message = std::move(message);
    return finding;
  };

  if (!files.rootCa.ok()) return fail(MtlsFileProblem::CaMissing, "CA file " + files.rootCa.error);
  CertificateSet ca = CertificateSet::parse(files.rootCa.text, files.rootCa.path);
  if (!ca.ok()) return fail(MtlsFileProblem::CaMissing, "CA file: " + ca.error());
  finding.caCertificates = ca.certificates().size();

  if (!files.client.ok())
    return fail(MtlsFileProblem::ClientMissing, "client certificate " + files.client.error);
  CertificateSet client = CertificateSet::parse(files.client.text, files.client.path);
  if (!client.ok())
    return fail(MtlsFileProblem::ClientMissing, "client certificate: " + client.error());
  finding.client = client.certificates().front();
  PrivateKey key = PrivateKey::parse(files.client.text, files.client.path);
  if (!key.ok()) return fail(MtlsFileProblem::ClientMissing, "client key: " + key.error());
  if (!keyMatches(client, key))
    return fail(MtlsFileProblem::ClientMissing, "the private key in " + files.client.path +
                                                    " does not match its client certificate (" +
                                                    finding.client->name() + ")");

  const CertificateInfo& cert = *finding.client;
  finding.validity = assessValidity(cert.notBefore, cert.notAfter, now, policy);
  switch (finding.validity.validity) {
    case Validity::Expired:
      return fail(MtlsFileProblem::ClientExpired,
                  "client certificate " + cert.name() + " in " + files.client.path +
                      " expired at " + formatRfc3339(cert.notAfter) + " (" +
                      formatDuration(-finding.validity.remaining) + " ago)");
    case Validity::NotYetValid:
      return fail(MtlsFileProblem::ClientNotYetValid,
                  "client certificate " + cert.name() + " in " + files.client.path +
                      " is not valid before " + formatRfc3339(cert.notBefore) + " (in " +
                      formatDuration(finding.validity.startsIn) + "): this VM's clock is behind");
    case Validity::Expiring:
    case Validity::Valid:
      break;
  }
  return finding;
}

}  // namespace guestpulse::certs
