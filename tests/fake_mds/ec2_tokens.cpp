#include "tests/fake_mds/ec2_tokens.hpp"

#include <stdexcept>

namespace guestpulse::fake {
namespace {

constexpr std::size_t kTokenBytes = 42;  // 56 base64 characters, as IMDSv2's tokens
constexpr std::size_t kMaxTokens = 100000;

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  return out;
}

}  // namespace

void validateEc2Options(const Ec2Options& options) {
  if (options.hopLimit < 1 || options.hopLimit > 64)
    throw std::invalid_argument("hop limit must be 1..64");
}

Ec2Imds::Ec2Imds(Ec2Options options) : options_(options), random_(std::random_device{}()) {
  validateEc2Options(options_);
}

Ec2Options Ec2Imds::options() const {
  std::lock_guard lock(mutex_);
  return options_;
}

void Ec2Imds::setOptions(const Ec2Options& options) {
  validateEc2Options(options);
  std::lock_guard lock(mutex_);
  options_ = options;
}

std::string Ec2Imds::issue(int ttlSeconds, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (tokens_.size() >= kMaxTokens) {
    std::erase_if(tokens_, [now](const auto& t) { return t.second <= now; });
    if (tokens_.size() >= kMaxTokens) tokens_.erase(tokens_.begin());  // bounded, always
  }
  std::string bytes;
  while (bytes.size() < kTokenBytes) {
    std::uint64_t r = random_();
    for (int i = 0; i < 8 && bytes.size() < kTokenBytes; ++i)
      bytes.push_back(static_cast<char>(r >> (8 * i)));
  }
  std::string token = base64(bytes);
  tokens_[token] = now + std::chrono::seconds(ttlSeconds);
  return token;
}

Ec2Imds::Check Ec2Imds::check(const std::string& token, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return Check::Unknown;
  if (it->second <= now) {
    tokens_.erase(it);
    return Check::Expired;
  }
  return Check::Valid;
}

std::size_t Ec2Imds::liveTokens(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [token, expiry] : tokens_) n += expiry > now ? 1 : 0;
  return n;
}

void Ec2Imds::clear() {
  std::lock_guard lock(mutex_);
  tokens_.clear();
}

}  // namespace guestpulse::fake
