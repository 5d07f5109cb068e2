// All eight io harnesses in one libFuzzer binary, the one `scripts/fuzz.sh
// --ci` builds: LOWRANK_FUZZ_TARGET (csv, triplets, matrix_market, npy, npz,
// safetensors, safetensors_index, any) picks the harness a run fuzzes. One
// compile and one link instead of eight of each (the harnesses' own code is
// a few lines, their cost is clang parsing the io headers and instrumenting
// them again per binary; docs/benchmarks.md, "CI time"). Each harness source
// is included with its entry point renamed; the long runs keep one binary
// per reader (fuzz_csv, ...), built from the same sources.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#define LLVMFuzzerTestOneInput lowrank_fuzz_csv
#include "csv.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput lowrank_fuzz_triplets
#include "triplets.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput lowrank_fuzz_matrix_market
#include "matrix_market.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput lowrank_fuzz_npy
#include "npy.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput lowrank_fuzz_npz
#include "npz.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput lowrank_fuzz_safetensors
#include "safetensors.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput lowrank_fuzz_safetensors_index
#include "safetensors_index.cpp"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput lowrank_fuzz_any
#include "any.cpp"
#undef LLVMFuzzerTestOneInput

namespace {
using Harness = int (*)(const std::uint8_t*, std::size_t);

Harness chosen_harness() {
  struct Entry {
    const char* name;
    Harness run;
  };
  static constexpr Entry kHarnesses[] = {
      {"csv", lowrank_fuzz_csv},
      {"triplets", lowrank_fuzz_triplets},
      {"matrix_market", lowrank_fuzz_matrix_market},
      {"npy", lowrank_fuzz_npy},
      {"npz", lowrank_fuzz_npz},
      {"safetensors", lowrank_fuzz_safetensors},
      {"safetensors_index", lowrank_fuzz_safetensors_index},
      {"any", lowrank_fuzz_any},
  };
  const char* want = std::getenv("LOWRANK_FUZZ_TARGET");
  for (const Entry& e : kHarnesses) {
    if (want && std::strcmp(want, e.name) == 0) return e.run;
  }
  std::fprintf(stderr, "fuzz_io_all: set LOWRANK_FUZZ_TARGET to one of");
  for (const Entry& e : kHarnesses) std::fprintf(stderr, " %s", e.name);
  std::fprintf(stderr, " (got '%s')\n", want ? want : "");
  std::exit(2);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Harness run = chosen_harness();
  return run(data, size);
}
