#pragma once
// Warm-started regularisation paths and k-fold cross-validation.
//
// A path fits the same estimator at a decreasing sequence of lambdas,
// starting each fit from the previous one's model (MHT 2010, sec. 5: the
// rank grows along the path and each warm start needs few iterations). The
// grid is logarithmic from lambda_max (where the solution is 0) down to
// lambda_max * min_ratio.
//
// Cross-validation splits the observed entries into k folds (seeded), runs
// the whole path on each training part and scores every lambda on the
// held-out fold; the chosen lambda minimises the mean validation RMSE. The
// final model is refitted on all entries along the path down to that lambda.
//
// The path and CV are generic over a fit function; fit_completion()
// (fit.hpp) drives them for soft-impute and ALS. GAME's path (game/path.hpp)
// keeps its own fold loop (folds in parallel, float fits, group-wise warm
// starts of the dual) but builds its folds with cv_splits / cv_fold and its
// table with cv_table below, so both choose lambda by the same rule.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lowrank/completion/model.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/core/splits.hpp"

namespace lowrank {

/// Fits one model at `lambda` on `data`, warm-started from `warm` (may be null).
template <class T>
using PathFitFunction =
    std::function<CompletionResult<T>(const ObservedEntries<T>& data, double lambda, const CompletionModel<T>* warm)>;

/// lambda_max * min_ratio^(i / (count - 1)), i = 0..count-1 (decreasing).
/// Throws InvalidArgument unless count >= 1, lambda_max > 0 and 0 < min_ratio < 1.
std::vector<double> log_lambda_grid(double lambda_max, int count, double min_ratio);

struct PathPoint {
  double lambda = 0;
  Index rank = 0;
  int iterations = 0;
  double objective = 0;  ///< last value of the fit's objective trace
  double train_rmse = 0;
  double seconds = 0;
  Status status = Status::Success;
};

template <class T>
struct PathResult {
  std::vector<PathPoint> points;
  std::vector<CompletionModel<T>> models;  ///< one per point when keep_models, else only the last
  Status status = Status::Success;         ///< Interrupted if stopped early (points hold what was done)
};

/// Fits `fit` along `lambdas` (decreasing), each warm-started from the last.
template <class T>
PathResult<T> fit_path(const ObservedEntries<T>& data, const std::vector<double>& lambdas,
                       const PathFitFunction<T>& fit, bool keep_models = false, const ProgressCallback& progress = {});

/// How a fold's fits see the grid's lambdas. The penalised losses here sum
/// over the observed entries, so one lambda regularises a fold's (k-1)/k of
/// the entries harder than all of them, and plain CV picks a lambda that is
/// too small for the final refit (on GAME's synthetic design, 3 folds:
/// the folds' best lambda was 0.78x the full data's, for soft-impute and
/// GAME alike). The noise a nuclear-norm threshold has to clear,
/// ||P_Omega(E)||_2, grows like the square root of the number of entries
/// (Negahban & Wainwright 2012, sec. 3), so with SqrtEntries a fold fits at
/// lambda * sqrt(n_fold / n); the table keeps the full-data lambda, the one
/// the final refit uses. None fits every fold at the grid's lambda.
enum class CvLambdaScaling { SqrtEntries, None };

/// The factor a fold with `fold_entries` of `all_entries` training entries
/// applies to the grid's lambdas (1 for None or an empty set).
double cv_lambda_factor(CvLambdaScaling scaling, std::size_t fold_entries, std::size_t all_entries);
/// "sqrt" -> SqrtEntries, "none" -> None; InvalidArgument otherwise.
CvLambdaScaling parse_cv_lambda_scaling(std::string_view name);

struct CrossValidationOptions {
  int folds = 5;           ///< k >= 2
  std::uint64_t seed = 0;  ///< fold assignment
  CvLambdaScaling lambda_scaling = CvLambdaScaling::SqrtEntries;
  /// Stop a fold's path once the validation RMSE has risen for this many
  /// consecutive lambdas past its minimum (0 = run the whole grid). Saves the
  /// slow small-lambda end of the path, as glmnet-style paths do.
  int patience = 3;
  /// With patience > 0, a fold's path also stops at the first rise that
  /// takes its validation RMSE more than this fraction above its minimum
  /// (< 0: off): past such a rise the fold is clearly beyond its minimum
  /// (on MovieLens u1 the folds' RMSEs near the minimum differ by 0.3-0.5 %,
  /// the rise after it is 1.5 %).
  double rise_margin = -1.0;
  /// Prefix of the progress stage ("cross-validation" when empty); events
  /// read "<label> fold f/k lambda l/L".
  std::string label;
  /// cross_validate_candidates: after the first fold, candidates whose best
  /// validation RMSE exceeds the leader's by more than this fraction are not
  /// run on the other folds (< 0: every candidate runs every fold); during
  /// the first fold, a later candidate's path stops when its shrinking gains
  /// cannot bring it within this fraction of the earlier candidates' best.
  double screen_margin = 0.02;
  /// After the grid, this many lambdas (log-spaced) are tried between the
  /// best lambda and each of its neighbours, on the same folds, each fold
  /// warm-started from its own fits at the neighbouring grid points (0: the
  /// grid only). Only the candidate that leads after the grid is refined;
  /// its table then holds the extra rows, in path order. A coarse grid's
  /// choice between two neighbours can flip with the folds' noise (MovieLens
  /// u1: 18.18 vs 12.64, 0.5 sd apart); points between them let the choice
  /// land near the curve's minimum instead of on either side of it.
  int refine = 0;
  ProgressCallback progress;
};

struct CrossValidationRow {
  double lambda = 0;
  double mean_rmse = 0;  ///< over the folds that reached this lambda
  double sd_rmse = 0;    ///< standard deviation over those folds
  double mean_mae = 0;
  double mean_rank = 0;
  int folds = 0;  ///< how many folds reached this lambda
};

template <class T>
struct CrossValidationResult {
  std::vector<CrossValidationRow> table;  ///< one row per lambda, path order
  double best_lambda = 0;                 ///< argmin mean_rmse
  std::size_t best_index = 0;
  Status status = Status::Success;
  /// The finished fold fit with the lowest validation RMSE (fitted on its
  /// fold's training part): what an interrupted run can still return.
  /// Empty (0 x 0) only when no fit finished.
  CompletionModel<T> best_fold_model;
  double best_fold_rmse = 0;    ///< its validation RMSE (+inf if none)
  double best_fold_lambda = 0;  ///< its grid lambda
  int folds_completed = 0;      ///< folds whose path ran to its end (or patience)
  int fits = 0;                 ///< fold fits run (refinement included)
  int refined = 0;              ///< rows added by CrossValidationOptions::refine
  int capped_fits = 0;          ///< of which stopped at the iteration cap
  /// Where an interrupt stopped it (0-based fold and grid index).
  std::size_t stopped_fold = 0, stopped_index = 0;
  double seconds = 0;
  /// cross_validate_candidates: dropped after the first fold (its rows hold
  /// one fold each).
  bool screened_out = false;
};

/// Validation scores of one fold's path, one entry per lambda of the grid
/// it reached (a shorter vector, or NaN, where the fold stopped earlier).
struct FoldScores {
  std::vector<double> rmse, mae, rank;
};

/// The CV table over `folds` (mean and sd across the folds that reached each
/// lambda; rows no fold reached hold NaN and folds = 0), written to `table`,
/// and its best index: the lowest mean RMSE among the lambdas every fold
/// reached, so that an early-stopped fold cannot make a lambda look better
/// than it is; when no lambda was reached by all (an interrupt during the
/// first fold, or folds screened out), the lowest among those any fold
/// reached (0 when none). cross_validate and GAME's path build their tables
/// here.
std::size_t cv_table(const std::vector<FoldScores>& folds, const std::vector<double>& grid,
                     std::vector<CrossValidationRow>& table);

/// The k folds of `data` (k_fold, seeded) after the checks every CV makes:
/// throws InvalidArgument for folds < 2 or more folds than entries.
template <class T>
std::vector<Split> cv_splits(const ObservedEntries<T>& data, int folds, std::uint64_t seed);

/// One fold of k-fold CV: its training and held-out entries, and the factor
/// its fits apply to the grid's lambdas (cv_lambda_factor of the training
/// part's share of `data`).
template <class T>
struct CvFold {
  ObservedEntries<T> train, test;
  double lambda_factor = 1.0;
};
template <class T>
CvFold<T> cv_fold(const ObservedEntries<T>& data, const Split& split, CvLambdaScaling scaling);

/// k-fold CV of `fit` over `lambdas`. Throws InvalidArgument for folds < 2,
/// more folds than entries, or an empty or increasing lambda grid.
template <class T>
CrossValidationResult<T> cross_validate(const ObservedEntries<T>& data, const std::vector<double>& lambdas,
                                        const PathFitFunction<T>& fit, const CrossValidationOptions& options);

/// k-fold CV of several candidate models (e.g. one per centring), each with
/// its own decreasing grid, on the same folds: fold by fold, every candidate
/// runs its path, so the tables are paired. After the first fold,
/// candidates clearly worse than the best (options.screen_margin) stop. One
/// result per candidate, in order; on interrupt every result has status
/// Interrupted. `labels` (optional, one per candidate) name the progress
/// stages.
template <class T>
std::vector<CrossValidationResult<T>> cross_validate_candidates(const ObservedEntries<T>& data,
                                                                const std::vector<std::vector<double>>& grids,
                                                                const std::vector<PathFitFunction<T>>& fits,
                                                                const CrossValidationOptions& options,
                                                                const std::vector<std::string>& labels = {});

}  // namespace lowrank
