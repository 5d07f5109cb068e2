#pragma once
// lowrank I/O: every reader and writer. The numerical core never parses;
// front-ends read with these functions and hand ObservedEntries / Matrix to
// the core. All readers throw lowrank::InputError naming the file and the
// 1-based line (text formats) or byte offset (binary formats).
#include "lowrank/io/any.hpp"
#include "lowrank/io/attributes.hpp"
#include "lowrank/io/csv.hpp"
#include "lowrank/io/json.hpp"
#include "lowrank/io/matrix_market.hpp"
#include "lowrank/io/npy.hpp"
#include "lowrank/io/safetensors.hpp"
#include "lowrank/io/triplets.hpp"
