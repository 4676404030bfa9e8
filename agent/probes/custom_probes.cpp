#include "agent/probes/custom_probes.hpp"

#include <algorithm>
#include <cctype>

#include "agent/net/blocking_pool.hpp"

namespace guestpulse {

namespace custom_detail {

std::string clipLine(std::string_view text, std::size_t limit) {
  std::string line;
  line.reserve(std::min(text.size(), limit));
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    line.push_back(byte < 0x20 || byte == 0x7f ? ' ' : c);
  }
  if (line.size() <= limit) return line;
  constexpr std::string_view kEllipsis = "...";
  std::size_t cut = limit > kEllipsis.size() ? limit - kEllipsis.size() : 0;
  // Back off over UTF-8 continuation bytes so a character is never split.
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  line.resize(cut);
  line += kEllipsis;
  return line;
}

std::string firstLine(std::string_view output) {
  constexpr std::string_view kBlank = " \t\r\f\v";
  while (!output.empty()) {
    std::size_t end = output.find('\n');
    std::string_view line = output.substr(0, end);
    std::size_t first = line.find_first_not_of(kBlank);
    if (first != std::string_view::npos) {
      std::size_t last = line.find_last_not_of(kBlank);
      return std::string(line.substr(first, last - first + 1));
    }
    if (end == std::string_view::npos) break;
    output.remove_prefix(end + 1);
  }
  return {};
}

std::string shellQuote(const std::vector<std::string>& argv) {
  auto plain = [](unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("_./:=@%+,-").find(static_cast<char>(c)) != std::string_view::npos;
  };
  std::string out;
  for (const std::string& arg : argv) {
    if (!out.empty()) out += ' ';
    if (!arg.empty() && std::all_of(arg.begin(), arg.end(), plain)) {
      out += arg;
      continue;
    }
    out += '\'';
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

}  // namespace custom_detail

std::unique_ptr<Probe> makeCustomProbe(const CustomProbeConfig& config,
                                       const CustomProbeDeps& deps) {
  switch (config.kind) {
    case CustomProbeKind::Http:
      return std::make_unique<HttpCustomProbe>(config, deps.http);
    case CustomProbeKind::Tcp:
      return std::make_unique<TcpCustomProbe>(config, deps.resolver);
    case CustomProbeKind::Exec:
      return std::make_unique<ExecCustomProbe>(config, deps.execPool, deps.killGrace);
  }
  return nullptr;
}

std::vector<std::unique_ptr<Probe>> makeCustomProbes(const std::vector<CustomProbeConfig>& configs,
                                                     HttpClient& http, BlockingPool& resolver) {
  const auto execCount = std::count_if(configs.begin(), configs.end(), [](const auto& c) {
    return c.kind == CustomProbeKind::Exec;
  });
  CustomProbeDeps deps{http, resolver, nullptr};
  // One thread per exec probe: each probe runs one command at a time, so none ever waits
  // for another's hung command. Past 4, a queued command's timeout counts its wait.
  if (execCount > 0)
    deps.execPool = std::make_shared<BlockingPool>(static_cast<int>(std::min<long>(execCount, 4)));
  std::vector<std::unique_ptr<Probe>> probes;
  for (const CustomProbeConfig& config : configs) probes.push_back(makeCustomProbe(config, deps));
  return probes;
}

}  // namespace guestpulse
