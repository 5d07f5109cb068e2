#pragma once
// Internal pieces of the MPI solvers (not installed): collective errors,
// block partitions, the row-block / column-block copies of the entries and
// gathers whose sums do not depend on the number of ranks.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lowrank/core/observed_entries.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank::distributed::detail {

struct Comm {
  MPI_Comm comm;
  int rank = 0;
  int size = 1;
  explicit Comm(MPI_Comm c);
};

/// Collective: when any rank passes a non-empty `error`, every rank throws
/// InvalidArgument with the message of the lowest such rank (which names its
/// source: a file and line, or a rank and entry). Returns on every rank
/// otherwise. `input_error` is kept for the callers' documentation.
void agree(const Comm& c, const std::string& error, bool input_error = false);

/// Block boundaries b[0] = 0 <= ... <= b[P] = count, b[p] = count p / P.
std::vector<Index> block_bounds(Index count, int parts);

/// Entries of one block of rows (or of columns: the transpose), CSR with
/// global inner indices sorted within each row.
struct Block {
  Index first = 0;                  ///< first global row of the block
  Index count = 0;                  ///< rows in the block
  std::vector<std::int64_t> outer;  ///< count + 1
  std::vector<std::int32_t> inner;
  std::vector<double> value;
  std::int64_t nnz() const { return static_cast<std::int64_t>(value.size()); }
};

/// Moves every entry (key[s], other[s], value[s]) to the rank owning block
/// key[s] of `bounds` (MPI_Alltoallv) and builds that rank's Block. A
/// repeated (key, other) pair is a collective InvalidArgument naming it
/// (`transposed` names the pair (other, key); `key_old` / `other_old`, when
/// not empty, map renumbered indices back to the data's for the message).
Block to_block(const Comm& c, const std::vector<std::int32_t>& key, const std::vector<std::int32_t>& other,
               const std::vector<double>& value, const std::vector<Index>& bounds, bool transposed,
               const std::vector<Index>& key_old = {}, const std::vector<Index>& other_old = {});

/// Gathers `width` values per item of each rank's block [bounds[p],
/// bounds[p+1]) into the whole array on every rank (MPI_Allgatherv).
void gather_blocks(const Comm& c, const double* local, double* all, const std::vector<Index>& bounds, Index width);

/// The sum over items of `local` (one partial per item of this rank's block),
/// added in global item order on every rank: independent of P.
double ordered_sum(const Comm& c, const std::vector<double>& local, const std::vector<Index>& bounds);

/// MPI_Allreduce(MAX) of interrupt_requested(): all ranks stop together.
bool any_interrupt(const Comm& c);

}  // namespace lowrank::distributed::detail
