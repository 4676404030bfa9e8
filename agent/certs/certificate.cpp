#include "agent/certs/certificate.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <ctime>

#include "platform/tls_library.hpp"

namespace guestpulse::certs {

namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// The reason of the most recent OpenSSL error, and the queue cleared: errors must not
// leak into the next, unrelated TLS operation on this thread.
std::string takeOpenSslError() {
  unsigned long code = ERR_peek_last_error();
  std::string text;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    text = reason ? reason : "error " + std::to_string(ERR_GET_REASON(code));
  }
  ERR_clear_error();
  return text;
}

BioPtr memoryBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Never prompt for a passphrase: an encrypted key is an error, not a question.
int refusePassphrase(char*, int, int, void*) { return -1; }

WallTime toWallTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return WallTime{};
  using namespace std::chrono;
  sys_days day = year{tm.tm_year + 1900} / month{static_cast<unsigned>(tm.tm_mon + 1)} /
                 std::chrono::day{static_cast<unsigned>(tm.tm_mday)};
  auto when = day + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec};
  return time_point_cast<WallClock::duration>(when);
}

std::string nameLine(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !name) return {};
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string ipText(const ASN1_OCTET_STRING* ip) {
  const unsigned char* b = ASN1_STRING_get0_data(ip);
  int n = ASN1_STRING_length(ip);
  std::string out;
  if (n == 4) {
    for (int i = 0; i < 4; ++i) out += (i ? "." : "") + std::to_string(b[i]);
  } else if (n == 16) {
    static const char* hex = "0123456789abcdef";
    for (int i = 0; i < 16; i += 2) {
      if (i) out += ':';
      unsigned v = (b[i] << 8) | b[i + 1];
      std::string group;
      do {
        group.insert(group.begin(), hex[v & 0xF]);
        v >>= 4;
      } while (v);
      out += group;
    }
  }
  return out;
}

CertificateInfo describe(const X509* cert) {
  CertificateInfo info;
  info.subject = nameLine(X509_get_subject_name(cert));
  info.issuer = nameLine(X509_get_issuer_name(cert));
  info.notBefore = toWallTime(X509_get0_notBefore(cert));
  info.notAfter = toWallTime(X509_get0_notAfter(cert));
  info.isCa = X509_check_ca(const_cast<X509*>(cert)) > 0;  // only reads; not const in 3.0
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type == GEN_DNS || name->type == GEN_URI) {
        const ASN1_IA5STRING* s = name->d.ia5;
        std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
        (name->type == GEN_DNS ? info.dnsNames : info.uris).push_back(std::move(text));
      } else if (name->type == GEN_IPADD) {
        info.ipAddresses.push_back(ipText(name->d.iPAddress));
      }
    }
    GENERAL_NAMES_free(names);
  }
  ERR_clear_error();
  return info;
}

}  // namespace

struct CertificateSet::Native {
  std::vector<X509Ptr> certs;
};

struct PrivateKey::Native {
  KeyPtr key;
};

Duration CertificateInfo::lifetime() const {
  return std::chrono::duration_cast<Duration>(notAfter - notBefore);
}

std::string CertificateInfo::name() const {
  if (!uris.empty()) return uris.front();
  if (!dnsNames.empty()) return dnsNames.front();
  return subject;
}

CertificateSet::CertificateSet() = default;
CertificateSet::~CertificateSet() = default;
CertificateSet::CertificateSet(const CertificateSet&) = default;
CertificateSet& CertificateSet::operator=(const CertificateSet&) = default;

CertificateSet CertificateSet::parse(std::string_view pem, std::string_view origin) {
  CertificateSet set;
  if (const std::string& why = platform::tlsLibraryProblem(); !why.empty()) {
    set.error_ = "cannot read " + std::string(origin) + ": " + why;
    return set;
  }
  auto native = std::make_shared<Native>();
  ERR_clear_error();
  BioPtr bio = memoryBio(pem);
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, refusePassphrase, nullptr));
    if (!cert) break;
    set.infos_.push_back(describe(cert.get()));
    native->certs.push_back(std::move(cert));
  }
  // Reading stops at the end of the text (PEM "no start line") or at a damaged block.
  unsigned long last = ERR_peek_last_error();
  bool endOfText = last == 0 || (ERR_GET_LIB(last) == ERR_LIB_PEM &&
                                 ERR_GET_REASON(last) == PEM_R_NO_START_LINE);
  std::string reason = takeOpenSslError();
  if (!endOfText) {
    set.error_ = std::string(origin) + ": certificate #" + std::to_string(set.infos_.size() + 1) +
                 " is damaged (" + reason + ")";
  } else if (set.infos_.empty()) {
    set.error_ = "no PEM certificate in " + std::string(origin);
  }
  set.native_ = std::move(native);
  return set;
}

PrivateKey::PrivateKey() = default;
PrivateKey::~PrivateKey() = default;
PrivateKey::PrivateKey(const PrivateKey&) = default;
PrivateKey& PrivateKey::operator=(const PrivateKey&) = default;

PrivateKey PrivateKey::parse(std::string_view pem, std::string_view origin) {
  PrivateKey key;
  if (const std::string& why = platform::tlsLibraryProblem(); !why.empty()) {
    key.error_ = "cannot read " + std::string(origin) + ": " + why;
    return key;
  }
  ERR_clear_error();
  if (pem.find("ENCRYPTED PRIVATE KEY") != std::string_view::npos ||
      pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos) {
    key.error_ = "the private key in " + std::string(origin) + " is encrypted";
    return key;
  }
  // OpenSSL 3's decoders report a missing key as "unsupported"; look for the block first.
  static constexpr std::string_view kBegin = "-----BEGIN ";
  bool hasKeyBlock = false;
  for (std::size_t at = pem.find(kBegin); at != std::string_view::npos;
       at = pem.find(kBegin, at + 1)) {
    std::size_t end = pem.find("-----", at + kBegin.size());
    if (end != std::string_view::npos &&
        pem.substr(at, end - at).find("PRIVATE KEY") != std::string_view::npos)
      hasKeyBlock = true;
  }
  if (!hasKeyBlock) {
    key.error_ = "no PEM private key in " + std::string(origin);
    return key;
  }
  BioPtr bio = memoryBio(pem);
  KeyPtr parsed(PEM_read_bio_PrivateKey(bio.get(), nullptr, refusePassphrase, nullptr));
  if (!parsed) {
    std::string reason = takeOpenSslError();
    key.error_ = "the private key in " + std::string(origin) + " is damaged (" + reason + ")";
    return key;
  }
  const char* type = EVP_PKEY_get0_type_name(parsed.get());
  key.type_ =
      std::string(type ? type : "key") + "-" + std::to_string(EVP_PKEY_get_bits(parsed.get()));
  auto native = std::make_shared<Native>();
  native->key = std::move(parsed);
  key.native_ = std::move(native);
  ERR_clear_error();
  return key;
}

bool keyMatches(const CertificateSet& certs, const PrivateKey& key) {
  if (!certs.ok() || !key.ok() || !certs.native() || !key.native() || certs.native()->certs.empty())
    return false;
  bool match =
      X509_check_private_key(certs.native()->certs.front().get(), key.native()->key.get()) == 1;
  ERR_clear_error();
  return match;
}

CertificateInfo describeCertificate(const x509_st* cert) {
  if (!cert) return {};
  return describe(cert);
}

ChainVerdict verifyChain(const CertificateSet& chain, const CertificateSet& anchors) {
  ChainVerdict verdict;
  if (!chain.native() || chain.native()->certs.empty()) {
    verdict.error = "no certificate to verify";
    verdict.code = -1;
    return verdict;
  }
  if (!anchors.native() || anchors.native()->certs.empty()) {
    verdict.error = "no trust anchor";
    verdict.code = -1;
    return verdict;
  }
  struct StoreFree {
    void operator()(X509_STORE* s) const { X509_STORE_free(s); }
  };
  struct CtxFree {
    void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
  };
  struct StackFree {
    void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }  // not the certs: shared
  };
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, CtxFree> ctx(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  if (!store || !ctx || !untrusted) {
    verdict.error = "out of memory";
    verdict.code = -1;
    return verdict;
  }
  for (const auto& anchor : anchors.native()->certs) X509_STORE_add_cert(store.get(), anchor.get());
  const auto& certs = chain.native()->certs;
  for (std::size_t i = 1; i < certs.size(); ++i) sk_X509_push(untrusted.get(), certs[i].get());
  X509_STORE_CTX_init(ctx.get(), store.get(), certs.front().get(), untrusted.get());
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN);
  int rc = X509_verify_cert(ctx.get());
  verdict.ok = rc == 1;
  verdict.code = X509_STORE_CTX_get_error(ctx.get());
  verdict.depth = X509_STORE_CTX_get_error_depth(ctx.get());
  if (!verdict.ok) verdict.error = X509_verify_cert_error_string(verdict.code);
  ERR_clear_error();
  return verdict;
}

}  // namespace guestpulse::certs
