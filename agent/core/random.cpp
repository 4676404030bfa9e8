#include "agent/core/random.hpp"

#include <memory>

namespace guestpulse {

UnitRandom makeUnitRandom(std::uint64_t seed) {
  if (seed == 0)
    seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace guestpulse
