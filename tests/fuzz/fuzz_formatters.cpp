// Fuzz target: the formatters that carry outside text to operators: the serial-console
// line (ASCII, one line, at most 1 KiB), guest-attribute values, and the escaping and
// quoting every sink uses.

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/core/text.hpp"
#include "agent/report/guest_attribute_reporter.hpp"
#include "agent/report/guest_attribute_sink.hpp"
#include "agent/report/serial_line.hpp"

using namespace guestpulse;

namespace {

// Splits the input into fields at 0xFF bytes.
std::vector<std::string> fields(const std::uint8_t* data, std::size_t size, std::size_t count) {
  std::vector<std::string> out(count);
  std::size_t i = 0;
  for (std::size_t k = 0; k < size; ++k) {
    if (data[k] == 0xFF && i + 1 < count) {
      ++i;
      continue;
    }
    out[i] += static_cast<char>(data[k]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto f = fields(data, size, 7);
  SerialEvent event;
  event.time = WallTime(std::chrono::seconds(1'800'000'000));
  event.level = f[0];
  event.probe = f[1];
  event.state = size % 4 == 0 ? std::nullopt : std::optional<State>(static_cast<State>(size % 3));
  event.cause = f[2];
  event.message = f[3];
  event.fix = f[4];
  event.extra = {{f[5], f[6]}};
  std::string line = formatSerialLine(event);
  if (line.size() > kSerialLineMax || line.empty() || line.back() != '\n') __builtin_trap();
  for (std::size_t k = 0; k + 1 < line.size(); ++k) {
    auto c = static_cast<unsigned char>(line[k]);
    if (c < 0x20 || c > 0x7E) __builtin_trap();
  }

  ProbeResult result{State::Failed, f[2], f[3], f[4], {}};
  std::string value = GuestAttributeReporter::probeValue(State::Failed, result);
  std::string sent = guestAttributeValue(value);
  if (sent.size() > kMaxAttributeValue || hasControls(sent)) __builtin_trap();

  std::string quoted = quoteOutside(f[3], 64);
  if (hasControls(quoted) || quoted.size() > 64 + 24) __builtin_trap();
  std::string escaped = escapeControls(f[3]);
  if (hasControls(escaped)) __builtin_trap();
  return 0;
}
