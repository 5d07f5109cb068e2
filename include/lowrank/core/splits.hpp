#pragma once
// Seeded train / test splits of observed entries.
//
// Every split returns positions into the input's entry arrays; use
// ObservedEntries::subset to materialise. The same seed gives the same split
// on every platform (drawn from lowrank::Rng, core/random.hpp).
#include <cstdint>
#include <vector>

#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/random.hpp"

namespace lowrank {

struct Split {
  std::vector<std::size_t> train;
  std::vector<std::size_t> test;
};

/// Each entry goes to test with probability ~fraction (exactly
/// round(fraction * nnz) entries, chosen uniformly). fraction in (0, 1).
template <class T>
Split random_holdout(const ObservedEntries<T>& e, double fraction, std::uint64_t seed);

/// Per row, round(fraction * count) of its entries go to test, keeping at
/// least `min_train` entries of every row in train.
template <class T>
Split per_row_holdout(const ObservedEntries<T>& e, double fraction, std::uint64_t seed, std::size_t min_train = 1);

/// k folds of a random permutation of the entries in (row, col) order (ties
/// by value), so the folds hold the same entries whatever order they come
/// in; fold f is test, the rest train.
template <class T>
std::vector<Split> k_fold(const ObservedEntries<T>& e, int k, std::uint64_t seed);

/// Structured missingness: entries of rows in `groups` (indices into
/// `row_groups`) are kept in train only with probability keep_fraction; the
/// rest go to test. Rows outside those groups stay entirely in train.
template <class T>
Split structured_holdout(const ObservedEntries<T>& e, const RowGroups& row_groups,
                         const std::vector<std::size_t>& groups, double keep_fraction, std::uint64_t seed);

/// Uniform double in [0, 1) from a splitmix64 stream.
double uniform01(std::uint64_t& state);

}  // namespace lowrank
