// libFuzzer harness: triplet files (io::read_triplets with auto-detection,
// pairs with sorted ids and merged duplicates, and io::read_triplets_mapped
// against fixed id maps, as a test set is read).
#include "lowrank/io/triplets.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string& path = fuzz::scratch_file(data, size, ".txt");
  fuzz::expect_refusal_or_success([&] { (void)io::read_triplets(path); });
  io::TripletReadOptions pairs;
  pairs.value_column = -1;
  pairs.id_order = io::IdOrder::Sorted;
  pairs.duplicates = DuplicatePolicy::Mean;
  fuzz::expect_refusal_or_success([&] { (void)io::read_triplets(path, pairs); });
  static const IdMap ids = IdMap::identity(8);
  return fuzz::expect_refusal_or_success([&] { (void)io::read_triplets_mapped(path, ids, ids); });
}
