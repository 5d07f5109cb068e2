// libFuzzer harness: dense CSV (io::read_dense_csv + io::to_observed), with
// the default options (sniffed separator, header, row names) and bare
// numbers (no header, no row names).
#include "lowrank/io/csv.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string& path = fuzz::scratch_file(data, size, ".csv");
  fuzz::expect_refusal_or_success([&] { (void)io::to_observed(io::read_dense_csv(path)); });
  io::CsvReadOptions bare;
  bare.header = false;
  bare.row_names = false;
  return fuzz::expect_refusal_or_success([&] { (void)io::to_observed(io::read_dense_csv(path, bare)); });
}
