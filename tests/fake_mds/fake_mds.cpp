#include "tests/fake_mds/fake_mds.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "tests/fake_mds/server.hpp"

namespace guestpulse::fake {
namespace {

FaultRule ruleFor(std::string path, int count) {
  FaultRule r;
  r.path = std::move(path);
  r.count = count;
  return r;
}

std::string checkedPath(Provider provider, std::string_view path) {
  std::string normalized = normalizeMetadataPath(provider, path);
  if (normalized.empty() || normalized.ends_with('/'))
    throw std::invalid_argument("fake-mds: a metadata value path must name a leaf: '" +
                                std::string(path) + "'");
  return normalized;
}

}  // namespace

std::string_view toString(Provider provider) {
  switch (provider) {
    case Provider::Ec2:
      return "ec2";
    case Provider::Azure:
      return "azure";
    case Provider::Gce:
      break;
  }
  return "gce";
}

std::optional<Provider> parseProvider(std::string_view text) {
  for (Provider p : {Provider::Gce, Provider::Ec2, Provider::Azure}) {
    if (text == toString(p)) return p;
  }
  return std::nullopt;
}

std::map<std::string, std::string> guestAttributesEnabled() {
  return {{std::string(kEnableGuestAttributes), "TRUE"}};
}

std::optional<ListenAddress> parseListenAddress(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    std::size_t close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs [ ]
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return std::nullopt;
  boost::system::error_code addressError;
  boost::asio::ip::make_address(std::string(host), addressError);
  if (addressError) return std::nullopt;
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(value)};
}

FaultRule statusFault(int status, std::string path, int count) {
  FaultRule r = ruleFor(std::move(path), count);
  r.status = status;
  return r;
}

FaultRule latencyFault(std::chrono::milliseconds delay, std::string path, int count) {
  FaultRule r = ruleFor(std::move(path), count);
  r.latency = delay;
  return r;
}

FaultRule resetFault(std::string path, int count) {
  FaultRule r = ruleFor(std::move(path), count);
  r.reset = true;
  return r;
}

FaultRule hangFault(std::string path, int count) {
  FaultRule r = ruleFor(std::move(path), count);
  r.hang = true;
  return r;
}

FaultRule noFlavorFault(std::string path, int count) {
  FaultRule r = ruleFor(std::move(path), count);
  r.noFlavor = true;
  return r;
}

FaultRule guestAttributesDisabledFault(int count) {
  return statusFault(403, "/computeMetadata/v1/instance/guest-attributes/", count);
}

FakeMds::FakeMds(Options options) : impl_(std::make_unique<Server>(std::move(options))) {}
FakeMds::~FakeMds() = default;

void FakeMds::start() { impl_->start(); }
void FakeMds::stop() { impl_->stop(); }

std::uint16_t FakeMds::port() const {
  auto all = impl_->ports();
  return all.empty() ? 0 : all.front();
}

std::vector<std::uint16_t> FakeMds::ports() const { return impl_->ports(); }

std::string FakeMds::endpoint() const {
  const std::string& host = impl_->options().bindAddress;
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown + ":" + std::to_string(port());
}

std::uint16_t FakeMds::httpsPort() const { return impl_->httpsPort(); }
std::uint64_t FakeMds::tlsHandshakes() const { return impl_->tlsHandshakes(); }
std::uint64_t FakeMds::tlsHandshakeFailures() const { return impl_->tlsHandshakeFailures(); }

std::uint64_t FakeMds::addFault(FaultRule rule) { return impl_->faults.add(std::move(rule)); }
bool FakeMds::removeFault(std::uint64_t id) { return impl_->faults.remove(id); }
void FakeMds::clearFaults() { impl_->faults.clear(); }
std::vector<FaultRule> FakeMds::faults() const { return impl_->faults.list(); }

std::vector<RequestRecord> FakeMds::requests() const { return impl_->log.list(); }
void FakeMds::clearRequests() { impl_->log.clear(); }

Provider FakeMds::provider() const { return impl_->options().provider; }
Ec2Options FakeMds::ec2Options() const { return impl_->ec2.options(); }
void FakeMds::setEc2Options(const Ec2Options& options) { impl_->ec2.setOptions(options); }
std::size_t FakeMds::ec2Tokens() const { return impl_->ec2.liveTokens(); }
void FakeMds::clearEc2Tokens() { impl_->ec2.clear(); }

void FakeMds::setValue(std::string_view path, std::string value) {
  impl_->store.set(checkedPath(provider(), path), std::move(value));
}

bool FakeMds::removeValue(std::string_view path) {
  return impl_->store.remove(checkedPath(provider(), path));
}

std::optional<std::string> FakeMds::value(std::string_view path) const {
  return impl_->store.get(checkedPath(provider(), path));
}

std::map<std::string, std::string> FakeMds::values() const { return impl_->store.all(); }

std::map<std::string, std::string> FakeMds::guestAttributes() const {
  return impl_->store.withPrefix("instance/guest-attributes/");
}

std::size_t FakeMds::waitingRequests() const { return impl_->waitingRequests(); }

bool FakeMds::waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  return impl_->waitUntil(condition, timeout);
}

}  // namespace guestpulse::fake
