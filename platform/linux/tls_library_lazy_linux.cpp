// Loads OpenSSL on first use instead of at process start (see platform/tls_library.hpp).
//
// The agent calls OpenSSL functions by their usual names, through Boost.Asio's TLS
// stream and its own certificate code. This file defines each of those names (the list
// in openssl_stubs.inc) as a small function that forwards to the real one, found with
// dlsym in the libssl.so.3 loaded by dlopen. Each definition is compiled against the
// real OpenSSL declaration, so a signature that does not match fails the build, and a
// function missing from the list fails the link.
#include <dlfcn.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "platform/tls_library.hpp"

namespace guestpulse::platform {
namespace {

// The soname Debian's libssl3 and every other OpenSSL 3 runtime install.
constexpr const char* kLibrary = "libssl.so.3";
// Every OpenSSL 3.x release exports the functions used here with this version.
constexpr const char* kSymbolVersion = "OPENSSL_3.0.0";

enum class Symbol {
#define GP_OPENSSL_FN(ret, name, params, args) name,
#include "platform/linux/openssl_stubs.inc"
#undef GP_OPENSSL_FN
  Count
};

constexpr std::array<const char*, static_cast<std::size_t>(Symbol::Count)> kNames = {
#define GP_OPENSSL_FN(ret, name, params, args) #name,
#include "platform/linux/openssl_stubs.inc"
#undef GP_OPENSSL_FN
};

struct Library {
  std::string problem;
  std::array<void*, kNames.size()> functions{};
};

Library load() {
  Library lib;
  // RTLD_LOCAL: OpenSSL's names stay out of the global scope, where the forwarding
  // definitions below already own them.
  void* handle = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    lib.problem = std::string("OpenSSL 3 could not be loaded (") + (why ? why : kLibrary) + ")";
    return lib;
  }
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    // dlsym on the handle also searches libssl's own dependencies, libcrypto among them.
    void* fn = dlvsym(handle, kNames[i], kSymbolVersion);
    if (!fn) fn = dlsym(handle, kNames[i]);
    if (!fn) {
      lib.problem = std::string("OpenSSL 3 was loaded from ") + kLibrary + " but lacks " +
                    kNames[i] + "; it is not a usable OpenSSL 3 runtime";
      return lib;
    }
    lib.functions[i] = fn;
  }
  return lib;
}

const Library& library() {
  static const Library lib = load();  // thread-safe, once
  return lib;
}

// Reached only if a caller used OpenSSL without asking tlsLibraryProblem() first: there
// is no sensible result to invent for an arbitrary OpenSSL call, so say so and stop.
[[noreturn]] void unusable(const char* name) {
  std::fprintf(stderr, "guestpulse: %s called but %s\n", name, library().problem.c_str());
  std::abort();
}

template <typename Fn>
Fn resolve(Symbol symbol, const char* name) {
  const Library& lib = library();
  if (!lib.problem.empty()) unusable(name);
  return reinterpret_cast<Fn>(lib.functions[static_cast<std::size_t>(symbol)]);
}

}  // namespace

const std::string& tlsLibraryProblem() { return library().problem; }

}  // namespace guestpulse::platform

#define GP_OPENSSL_FN(ret, name, params, args)                                                \
  extern "C" ret name params {                                                                \
    using Fn = decltype(&::name);                                                             \
    return guestpulse::platform::resolve<Fn>(guestpulse::platform::Symbol::name, #name) args; \
  }
#include "platform/linux/openssl_stubs.inc"
#undef GP_OPENSSL_FN
