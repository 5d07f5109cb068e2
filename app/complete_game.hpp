#pragma once
// `lowrank complete --method game`: the GAME-specific flags and groups (into
// lowrank::fit's options) and the per-group report. Kept apart from
// cmd_complete.cpp so the shared completion flow stays readable.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lowrank/completion/fit.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/completion/path.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/game/game.hpp"
#include "lowrank/game/path.hpp"
#include "lowrank/io/attributes.hpp"

namespace lowrank::cli {

// Flag values start at the library's defaults (GamePathOptions), so the
// front-end holds none of its own.
struct GameFlags {
  std::string groups;                    ///< attribute table
  std::vector<std::string> group_names;  ///< column names of a headerless table
  std::vector<std::string> group_cols;
  std::vector<std::string> bins;  ///< "col=e0,e1,..."
  bool global = GamePathOptions{}.game.include_global_group;
  std::string variant = to_string(GamePathOptions{}.game.variant);
  std::string solver = to_string(GamePathOptions{}.game.solver);
  std::string storage = to_string(GamePathOptions{}.game.storage);  ///< auto | dense | factored (latent only)
  std::string weights = to_string(GamePathOptions{}.game.weight_scheme);
  std::string weight_search = to_string(GamePathOptions{}.weight_search);  ///< none | schemes | per-group
  std::vector<double> weight_multipliers = GamePathOptions{}.weight_multipliers;
  bool no_center = false;
  double cv_tol = GamePathOptions{}.cv_tolerance;  ///< tolerance of the fold fits (0 = --tol)
  /// precision of the fold fits and the refit's first stage
  std::string cv_precision = GamePathOptions{}.cv_float ? "float" : "double";
  int cv_patience = GamePathOptions{}.patience;  ///< rising lambdas past a fold's minimum before it stops
  std::string subspaces;                         ///< directory for per-group V_k / S_k
};

/// Adds the GAME flags to `complete`.
void add_game_flags(CLI::App& cmd, GameFlags& flags);

/// What cmd_complete.cpp passes in (its own flags, already validated).
struct GameRunInput {
  const ObservedEntries<double>* train = nullptr;
  const ObservedEntries<double>* test = nullptr;  ///< may be null
  std::optional<double> lambda;
  int lambda_path = 0;
  std::optional<double> min_ratio;  ///< unset: GamePathOptions::min_ratio
  int cv = 0;
  CvLambdaScaling cv_scaling = CvLambdaScaling::SqrtEntries;
  std::optional<Index> rank;
  /// --centering / --center (auto: CV chooses between none and biases).
  Centering centering = Centering::Auto;
  std::uint64_t seed = 0;
  int max_iterations = 0;  ///< 0: GamePathOptions::game's
  double tolerance = 0;    ///< 0: GamePathOptions::game's
  ProgressCallback progress;
};

/// The GAME part of `complete`'s one library call (lowrank::fit): the path
/// options from the flags and the row groups read from the attribute table.
struct GameSetup {
  GamePathOptions options;
  io::RowGroupResult groups;
};

/// Reads the attribute table and builds the groups and the options. Throws
/// InputError / InvalidArgument on bad flags or data.
GameSetup game_setup(const GameFlags& flags, const GameRunInput& input);

/// The "game" report of `complete` from lowrank::fit's result: settings,
/// KKT, per-group sizes, ranks and train / test errors; with --subspaces it
/// writes each group's right singular subspace. Exits 130 (nothing to save)
/// when the fit was interrupted before its first iteration.
nlohmann::json game_report(const GameFlags& flags, const GameSetup& setup, const CompletionFit<double>& fit,
                           const GameRunInput& input);

}  // namespace lowrank::cli
