#pragma once
// `lowrank complete --method game`: the GAME-specific flags, the fit through
// lowrank::fit_game_path, and the per-group report. Kept apart from
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

namespace lowrank::cli {

struct GameFlags {
  std::string groups;                  ///< attribute table
  std::vector<std::string> group_names;  ///< column names of a headerless table
  std::vector<std::string> group_cols;
  std::vector<std::string> bins;       ///< "col=e0,e1,..."
  bool global = true;
  std::string variant = "sum";
  std::string solver = "proximal-gradient";
  std::string storage = to_string(GameOptions{}.storage);  ///< dense | factored (latent only)
  std::string weights = "sqrt-size-plus-sqrt-cols";
  bool no_center = false;
  double cv_tol = 1e-3;                ///< tolerance of the fold fits (0 = --tol)
  std::string cv_precision = "float";  ///< precision of the fold fits and the refit's first stage
  int cv_patience = 2;                 ///< rising lambdas past a fold's minimum before it stops
  std::string subspaces;               ///< directory for per-group V_k / S_k
};

/// Adds the GAME flags to `complete`.
void add_game_flags(CLI::App& cmd, GameFlags& flags);

/// What cmd_complete.cpp passes in (its own flags, already validated).
struct GameRunInput {
  const ObservedEntries<double>* train = nullptr;
  const ObservedEntries<double>* test = nullptr;  ///< may be null
  std::optional<double> lambda;
  int lambda_path = 0;
  /// GAME's grid stops at 0.02 lambda_max by default: below it the group
  /// blocks are near full rank (slow fits that CV never picks), and a grid
  /// spread over 1000x put neighbouring lambdas 2.2x apart, too coarse to
  /// find GAME's minimum.
  double min_ratio = 0.02;
  int cv = 0;
  CvLambdaScaling cv_scaling = CvLambdaScaling::SqrtEntries;
  std::optional<Index> rank;
  /// --centering / --center (auto: CV chooses between none and biases).
  Centering centering = Centering::Auto;
  std::uint64_t seed = 0;
  int max_iterations = 0;
  double tolerance = 0;
  ProgressCallback progress;
};

struct GameRunOutput {
  CompletionModel<double> model;  ///< completed matrix in SVD form with the centring offsets
  std::optional<CrossValidationResult<double>> cv;
  double lambda = 0;
  double objective = 0;
  int iterations = 0;
  Status status = Status::Success;
  std::vector<std::string> warnings;
  nlohmann::json report;          ///< "game": groups, per-group errors and ranks, settings
};

/// Reads the attribute table, builds the groups, fits, and (with
/// --subspaces) writes each group's right singular subspace. Throws
/// InputError / InvalidArgument on bad flags or data.
GameRunOutput run_game(const GameFlags& flags, const GameRunInput& input);

}  // namespace lowrank::cli
