#pragma once
// The value types moved to core (every layer, io included, uses them); this
// header stays so existing includes of linalg/types.hpp keep compiling.
#include "lowrank/core/types.hpp"
