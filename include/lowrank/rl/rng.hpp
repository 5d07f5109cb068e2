#pragma once
// rl/ draws every random number from the library-wide generator
// (lowrank/core/random.hpp); the alias keeps rl code and tests short.
#include "lowrank/core/random.hpp"

namespace lowrank::rl {

using Rng = lowrank::Rng;

}  // namespace lowrank::rl
