#pragma once
// The random source every jittered decision draws from. Injected so tests can seed it
// (or pin it to an end of the range) and never depend on real randomness.

#include <cstdint>
#include <functional>
#include <random>

namespace guestpulse {

// Returns a uniformly distributed value in [0, 1).
using UnitRandom = std::function<double()>;

// A seeded Mersenne Twister; seed 0 means "seed from std::random_device".
UnitRandom makeUnitRandom(std::uint64_t seed = 0);

}  // namespace guestpulse
