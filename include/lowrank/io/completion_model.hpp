#pragma once
// A fitted completion model on disk: one directory, written by
// `lowrank complete --out DIR` and read by `lowrank predict --model DIR`.
//
//   model.json      {"format": "lowrank-completion-model", "version": 1,
//                    "lowrank_version": "0.1.0" (the library that wrote it),
//                    "rows", "cols", "rank", "global_offset", "method", ...}
//   U.npy d.npy V.npy                       the low-rank part in SVD form
//   row_offset.npy col_offset.npy           present only when non-empty
//   row_scale.npy  col_scale.npy            present only when non-empty
//   sparse.npy                              present only with a sparse part (robust
//                                           PCA's S): nnz x 3 float64, columns row,
//                                           col, value, sorted by (row, col); a
//                                           folder without it (every folder written
//                                           before it existed) loads with none
//   group<k>_rows.txt                       group parts (GAME, format version 2):
//   group<k>_U.npy _d.npy _V.npy            member rows (0-based, one a line,
//                                           increasing) and U_k d_k V_k of group k;
//                                           model.json "groups": [{"name", "rows",
//                                           "rank"}, ...] lists them in order
//   row_ids.txt col_ids.txt                 external ids, one per line
//   model.json "clip": [low, high]          present when predictions are clipped
//   seen.tsv                                (CLI and Python) the training entries
//                                           "row id<TAB>col id<TAB>value", which
//                                           `lowrank recommend` excludes
//
// Version 1 folders (written before group parts) still load: they are
// version 2 without groups. Reading checks the format tag, the version and
// every shape, so an
// incomplete directory or one from another version gives a clear error; a
// format version above kCompletionModelVersion (a model from a newer lowrank)
// is refused naming both versions (lowrank::check_format_version).
#include <string>

#include <nlohmann/json.hpp>

#include "lowrank/core/low_rank_model.hpp"
#include "lowrank/core/observed_entries.hpp"

namespace lowrank::io {

inline constexpr int kCompletionModelVersion = 2;

struct SavedCompletionModel {
  LowRankModel<double> model;  ///< its row_ids / col_ids are filled too
  IdMap row_ids;
  IdMap col_ids;
  nlohmann::json metadata;  ///< the whole model.json
};

/// Writes the model directory (created if missing). `metadata` is merged
/// into model.json (method, lambda, training errors, ...), which also lists
/// the CRC-32 of every file written ("checksums": {"U.npy": "1a2b3c4d", ...}).
void save_completion_model(const std::string& dir, const LowRankModel<double>& model, const IdMap& row_ids,
                           const IdMap& col_ids, const nlohmann::json& metadata = {});
/// The same with the model's own id maps (empty = "0", "1", ...).
void save_completion_model(const std::string& dir, const LowRankModel<double>& model,
                           const nlohmann::json& metadata = {});

/// Reads a model directory; throws InputError naming the missing or
/// inconsistent file, a file whose CRC-32 differs from model.json's, or a
/// non-finite value. A model.json without "checksums" (written before they
/// existed) loads unchecked.
SavedCompletionModel load_completion_model(const std::string& dir);

}  // namespace lowrank::io
