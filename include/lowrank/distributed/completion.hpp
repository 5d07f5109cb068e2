#pragma once
// Completion and truncated SVD across MPI ranks (built with LOWRANK_MPI=ON).
//
// The same options and results as the single-process calls (als.hpp,
// soft_impute.hpp, svd.hpp); only the data are spread: every rank passes its
// own share of the observed entries (any subset: a slice of a file, a shard),
// the union over ranks being the matrix. The entries are then moved, as
// distributed ALS does (Zhou et al. 2008; Spark MLlib's block ALS), into two
// copies: by row blocks (rank p holds the rows [p m / P, (p+1) m / P), each
// row's entries sorted by column) for the row half-steps, and by column
// blocks for the column half-steps. Each rank solves its block of rows
// (columns) and the blocks are gathered (MPI_Allgatherv), so every rank ends
// an iteration with the full factors: communication per iteration is
// (m + n) k values per rank, computation O(nnz / P k^2 + (m + n) / P k^3)
// (docs/scaling.md has the cost model).
//
// Results do not depend on P. Every per-row and per-column computation reads
// the same sorted entries and the same factors whatever the partition, and
// every sum over rows or columns (the loss, the mean, sums of squares) is
// made of per-row / per-column partials gathered to every rank and added in
// global index order, never by a P-dependent reduction tree; the small
// r x r and tall-skinny factorisations run on the gathered factors, identical
// on every rank. So 1, 2 and 4 ranks give the same bits for the same thread
// count and seed, and agree with the single-process call to rounding
// (tests/distributed).
//
// Errors are collective: a bad entry or option on any rank makes every rank
// throw the same exception (InvalidArgument or InputError, with the message
// of the lowest rank that failed), so no rank waits forever in a collective.
// Ctrl-C (interrupt_requested()) is also agreed each iteration
// (MPI_Allreduce), so all ranks stop after the same iteration.
//
// Checkpoints: with `checkpoint.path` set, rank 0 writes after every
// iteration the state the next iteration starts from (ALS: Q, column biases,
// mu; soft-impute: U, d, V; both: the objective trace), to path + ".tmp" then
// renamed, so a kill leaves the previous checkpoint intact. A job started
// with `resume` continues from it and, since an iteration depends only on
// that state, reaches the same result as a run never stopped.
#include <mpi.h>

#include <string>
#include <vector>

#include "lowrank/completion/als.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank::distributed {

struct CheckpointOptions {
  /// File written by rank 0 after every iteration; empty = none.
  std::string path;
  /// Start from `path` when it exists (it must be of the same problem:
  /// method, shape, rank and number of entries are checked).
  bool resume = false;
};

/// Hard-rank ALS (als.hpp) on the entries spread over `comm`. `local` holds
/// this rank's entries with the global shape in rows / cols (the same on
/// every rank). Not supported (InvalidArgument): robust, spectral init and a
/// warm start. Returns the full model on every rank.
CompletionResult<double> als(MPI_Comm comm, const ObservedEntries<double>& local, const AlsOptions& options,
                             const CheckpointOptions& checkpoint = {});

/// Soft-impute, ALS form (soft_impute.hpp, Hastie et al. 2015 Alg. 3.1), on
/// the entries spread over `comm`. Rows and columns without an entry are
/// dropped before the solve and get zeros, as soft_impute() does. Not
/// supported (InvalidArgument): the Svd variant, scaling, debias, a warm
/// start. Returns the full model on every rank.
CompletionResult<double> soft_impute(MPI_Comm comm, const ObservedEntries<double>& local,
                                     const SoftImputeOptions& options, const CheckpointOptions& checkpoint = {});

/// Randomized SVD (Halko, Martinsson, Tropp 2011, Alg. 4.4 with
/// options.power_iterations steps, default 4, and options.oversampling extra
/// columns) of the sparse matrix spread over `comm`. Each orthonormalisation
/// of a tall block distributed by rows is a tall-skinny QR (TSQR; Demmel,
/// Grigori, Hoemmen, Langou 2012): a local Householder QR per rank, the
/// P small R factors gathered and factored once more. U and V are returned
/// whole on every rank. Singular vectors are fixed in sign (the largest entry
/// of each column of U positive). The R-stacking depends on P, so ranks
/// agree with each other and with truncated_svd(..., Randomized) to rounding
/// (1e-10 relative), not bitwise.
SvdResult<double> randomized_svd(MPI_Comm comm, const ObservedEntries<double>& local, Index k,
                                 const TruncatedSvdOptions& options = {});

/// Tall-skinny QR of a matrix distributed by rows: `local` is this rank's
/// block of rows (any count, possibly 0; the same number of columns c on
/// every rank, global rows >= c). On return `local` holds the same rows of
/// Q (orthonormal columns) and the c x c upper-triangular R (the same on
/// every rank) is returned: A = Q R.
Matrix<double> tsqr(MPI_Comm comm, Matrix<double>& local);

}  // namespace lowrank::distributed

namespace lowrank::distributed {

struct DistributedReadOptions {
  /// Shape; 0 = from the manifest of a shard directory, else the largest id
  /// + 1 over all ranks. With a shape, a larger id is an error.
  Index rows = 0;
  Index cols = 0;
};

/// Reads this rank's share of the observed entries, in parallel on every
/// rank of `comm`, from
///  - a triplet file: rank p parses the lines that start in bytes
///    [p S / P, (p+1) S / P) of the S-byte file (a line belongs to the rank
///    holding its first byte), so no byte is read by two ranks' parsers;
///  - a directory of shards part-00000, part-00001, ... (any suffix after the
///    number, as Spark and Hadoop write them): shard s is read by rank s mod P.
///    An optional file `manifest` holds "rows R", "cols C" and "shards K"
///    lines; without it the shards must be numbered 0 .. K-1 without a gap.
/// Lines: "row col value [more fields ignored]" separated by blanks, tabs,
/// commas, ';' or ':' runs (MovieLens u.data and ratings.dat read as is);
/// row and col are non-negative integer indices (0-based); '#' lines, blank
/// lines and a header line at the start of a file or shard are skipped.
/// Returns the local entries with the global shape in rows / cols. Throws
/// (on every rank, InvalidArgument) for a missing or duplicated shard, a
/// malformed line or an id out of range, naming the file or shard and its
/// line (byte offset for a file slice).
ObservedEntries<double> read_entries(MPI_Comm comm, const std::string& path,
                                     const DistributedReadOptions& options = {});

}  // namespace lowrank::distributed
