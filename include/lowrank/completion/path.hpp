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
// One CV loop, cross_validate_paths, serves every estimator: it is generic
// over a per-fold fitter (CvPathFitter: the estimator's warm-start state,
// offsets, scalar and scoring), and fit_completion() (fit.hpp) drives it for
// soft-impute and ALS through fit functions, GAME's path (game/path.hpp)
// through its own fitter (float fold fits that warm-start the dual, folds in
// parallel beside a speculative refit, its paired stopping test).
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
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
/// Inverse of parse_cv_lambda_scaling.
const char* to_string(CvLambdaScaling scaling) noexcept;

struct CrossValidationOptions {
  int folds = 5;           ///< k >= 2
  std::uint64_t seed = 0;  ///< fold assignment
  CvLambdaScaling lambda_scaling = CvLambdaScaling::SqrtEntries;
  /// Stop a fold's path once the validation RMSE has risen for this many
  /// consecutive lambdas past its minimum (0 = run the whole grid). Saves the
  /// slow small-lambda end of the path, as glmnet-style paths do. A fitter
  /// with its own rule (CvPathFitter::own_stop_rule, GAME's paired test)
  /// reads it there instead. Each estimator's default lives in its options,
  /// which the front-ends read: CompletionFitOptions::patience (1) for
  /// soft-impute and ALS, GamePathOptions::patience (2) for GAME; 3 is this
  /// struct's own, for direct calls.
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
  /// cross_validate_paths with one candidate: run the folds in parallel, one
  /// OpenMP thread each (BLAS serial inside them), when there are several
  /// threads. A fold's fits do not depend on the schedule, so the table is
  /// the serial one.
  bool parallel_folds = false;
  /// With parallel_folds: one more task, run beside the folds (GAME's
  /// speculative refit on all entries), as the second-to-last task but not
  /// one of the first threads + 1, so that some folds have finished when it
  /// starts. It gets a function returning the best grid index of the folds
  /// finished so far (cv_table over them; nullopt while none has).
  std::function<void(const std::function<std::optional<std::size_t>()>& chosen_so_far)> side_task;
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

/// One fold fit as the CV loop sees it.
struct CvFitScore {
  /// Held-out RMSE and MAE (NaN: not scored, e.g. an interrupted iterate;
  /// the table then treats the lambda as not reached by this fold).
  double rmse = std::numeric_limits<double>::quiet_NaN();
  double mae = std::numeric_limits<double>::quiet_NaN();
  double rank = 0;
  Status status = Status::Success;  ///< Interrupted ends the CV
  /// A finished fit; an unfinished one (an interrupted iterate) becomes the
  /// best fold fit only while none is held.
  bool finished = true;
  bool keepable = true;  ///< false: nothing to keep (interrupted before any iteration)
  /// The fitter's own stopping rule (own_stop_rule) ends the fold's path here.
  bool stop = false;
};

/// One estimator's fits along one fold's path, driven by
/// cross_validate_paths: each fit warm-starts from the fold's previous one,
/// from state the fitter holds (a model, dual certificates, the fold's
/// offsets, a float copy of its training part).
template <class T>
class CvPathFitter {
 public:
  virtual ~CvPathFitter() = default;
  /// Fits at grid index `index` at `lambda` (the grid's lambda times the
  /// fold's lambda_factor) and scores the fit on the fold's held-out part.
  virtual CvFitScore fit(std::size_t index, double lambda) = 0;
  /// The last fit is now the best fold fit of the whole CV (called under the
  /// loop's lock, so folds in parallel need no lock of their own): keep it.
  virtual void keep_as_best() {}
  /// true: CvFitScore::stop ends the fold's path and the loop's patience
  /// rule is not applied.
  virtual bool own_stop_rule() const { return false; }
};

/// Makes the fitter of fold `fold` (0-based); `data` outlives it.
template <class T>
using CvFitterFactory = std::function<std::unique_ptr<CvPathFitter<T>>(std::size_t fold, const CvFold<T>& data)>;

/// The one k-fold CV loop (cross_validate and cross_validate_candidates wrap
/// it): the folds of cv_splits(data, options.folds, options.seed), fold by
/// fold (or in parallel, options.parallel_folds, one candidate), each
/// candidate's fitter down its grid, stopping by patience or the fitter's
/// rule, screening candidates after the first fold, the table by cv_table.
/// Interrupts end it with the fits so far (status Interrupted, stopped_fold
/// the lowest interrupted fold). No refinement (options.refine is for fit
/// functions, cross_validate_candidates). best_fold_model stays empty here:
/// the fitters keep their best fits (keep_as_best); best_fold_rmse and
/// best_fold_lambda are set.
template <class T>
std::vector<CrossValidationResult<T>> cross_validate_paths(const ObservedEntries<T>& data,
                                                           const std::vector<std::vector<double>>& grids,
                                                           const std::vector<CvFitterFactory<T>>& fitters,
                                                           const CrossValidationOptions& options,
                                                           const std::vector<std::string>& labels = {});

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
