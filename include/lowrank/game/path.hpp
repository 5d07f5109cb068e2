#pragma once
// GAME in practice: optional centring, a warm-started lambda path with k-fold
// cross-validation, and the per-group metrics of the GAME paper's
// experiments (per-group RMSE, effective rank, principal angles between a
// group's right singular subspace and a reference).
//
// Centring (GamePathOptions::centering, completion/fit.hpp's Centering):
// ratings and counts have large row / column means that a nuclear norm would
// otherwise spend its budget on, but means estimated from few entries carry
// their own error: on a planted partition of zero-mean rank-3 blocks (12%
// observed) biScale centring gave a test RMSE of 0.687 against 0.508
// without it (issue 35). So, as fit_completion does, the default (Auto)
// lets cross-validation choose on the same folds between None (the raw
// values) and Biases (mu + b_i + c_j, shrunken, fit_biases); Center
// (biScale centring, no scaling) is the former default. Every candidate's
// offsets are refitted on each fold's training part, so the CV error of a
// candidate includes the error of its own offsets. GAME is fitted to
// x_ij - offset_ij and predictions add the offsets back; the penalty and the
// per-group subspaces are those of the offset-free fit.
//
// Path and CV follow completion/path.hpp (MHT 2010, sec. 5): lambdas on a log
// grid from game_lambda_max down to lambda_max * min_ratio, each fit warm
// started from the previous one (iterate and dual certificates); every fold
// runs the path on its training part and scores the held-out part in the
// original scale; the chosen lambda minimises the mean validation RMSE and
// the final model is refitted on all entries along the grid down to it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lowrank/completion/biscale.hpp"
#include "lowrank/completion/fit.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/completion/path.hpp"
#include "lowrank/game/game.hpp"

namespace lowrank {

/// The GameOptions a path starts from: GameOptions' own defaults with
/// tolerance 1e-4 and 1000 iterations, which `lowrank complete --method
/// game` and Python's GAME have used since the path landed (a path runs
/// ~30-80 fits; a single fit_game() keeps 1e-5 / 3000). The returned fit is
/// polished to tolerance / 3 (not below 1e-5) first, see cv_float.
///
/// The path fits the Latent variant (G2) with storage Auto (factored): in the
/// regime GAME's paper argues for (experiments/game/regime.py, docs/game.md
/// "Which variant by default") it beat the Sum variant's CV path on every
/// measured level, and factored it holds no m x n array. A single
/// fit_game() keeps GameOptions' Sum variant (the paper's estimator, G1) and
/// Dense storage. Auto keeps `variant = Sum` and the ADMM solver usable.
inline GameOptions game_path_fit_defaults() {
  GameOptions g;
  g.variant = GameVariant::Latent;
  g.storage = GameStorage::Auto;
  g.tolerance = 1e-4;
  g.max_iterations = 1000;
  return g;
}

/// How a path chooses the group weights w_k (issue 35: "per-group CV of
/// weights"). Every candidate runs the whole CV path on the same folds with
/// the centring the first one chose, and the one with the lowest mean
/// validation RMSE at its best lambda is refitted on all entries (a
/// candidate must beat the best so far strictly). The first candidate is
/// always the given weights (game.weights or game.weight_scheme), so a
/// search never returns a fit whose CV error is above theirs.
enum class GameWeightSearch {
  None,  ///< the given weights only (one CV path)
  /// The given weights, then the other schemes (sqrt-size-plus-sqrt-cols,
  /// sqrt-size, uniform) and game_sampled_weights(): up to 4 CV paths.
  Schemes,
  /// The given weights, then one coordinate pass over the user groups in
  /// order: group k's weight times each of weight_multipliers (the others
  /// at the best so far), keeping the best: 1 + K * multipliers CV paths.
  PerGroup,
};
const char* to_string(GameWeightSearch s) noexcept;
/// "none" | "schemes" | "per-group"; throws InvalidArgument.
GameWeightSearch parse_game_weight_search(std::string_view name);

// GameWeightScore (one candidate of a weight search) is plain data in
// completion/fit.hpp, so GameReport can carry it.

/// Sampling-aware weights (a candidate of GameWeightSearch::Schemes): the
/// scheme's w_k times sqrt(p_k / p), p_k the observed fraction of group k's
/// cells and p the whole matrix's. Under uniform sampling within a group,
/// the spectral norm of the observed noise of a |G_k| x n block is about
/// sigma sqrt(p_k) (sqrt|G_k| + sqrt n) (Negahban & Wainwright 2012;
/// Klopp 2014, the lambda ~ sqrt(p) scale), so these weights put every
/// group's threshold at its own noise level when the groups are sampled at
/// different rates (the global group keeps its weight). A group with no
/// observed entry counts one. User groups, then the global group when
/// options.include_global_group.
template <class T>
std::vector<double> game_sampled_weights(const ObservedEntries<T>& entries, const RowGroups& groups,
                                         const GameOptions& options);

/// Every default of a GAME path lives here (front-ends print them in their
/// help and hold none of their own).
struct GamePathOptions {
  /// What is taken out before the fit: Auto (default) = with CV, the
  /// candidate among None and Biases with the lower mean validation RMSE at
  /// its best lambda (the same folds for both, so the comparison is paired;
  /// Center can be asked for explicitly); without CV (a fixed lambda or
  /// folds = 0) there is nothing to validate on and Auto is Center, the
  /// former default. Scale is refused (GAME's weights assume unscaled
  /// columns).
  Centering centering = Centering::Auto;
  /// s and sweeps of fit_biases for Centering::Biases.
  double bias_shrinkage = 5.0;
  int bias_sweeps = 15;
  /// Fit at this lambda only (no path, no CV) when set.
  std::optional<double> lambda;
  int lambdas = 10;  ///< grid size (>= 1)
  /// Smallest lambda / lambda_max, in (0, 1). Below 0.02 the group blocks
  /// are near full rank (slow fits that CV never picks), and a grid spread
  /// over 1000x put neighbouring lambdas 2.2x apart, too coarse to find
  /// GAME's minimum.
  double min_ratio = 0.02;
  int folds = 5;           ///< 0 = no CV: the path runs down to the smallest lambda
  std::uint64_t seed = 0;  ///< fold assignment
  /// Stop a fold's path once its validation RMSE has risen this many
  /// consecutive lambdas past its minimum, or at the first rise that is
  /// significant: paired z >= 1.645 over the held-out squared errors against
  /// the best lambda's (0 = whole grid, no early stop). Rises count only once
  /// the error is 0.1 % below the first lambda's: on vegan's raw mite counts
  /// (the README's GAME example) single folds rise once near the top of the
  /// path and fall again, and stopping there left the CV table (which
  /// compares only lambdas every fold reached) the zero fit. On the mite,
  /// dune and BCI tables (raw and log1p, 5 seeds) the significance test chose
  /// every lambda that waiting for two rises did; on MovieLens-100k it stops
  /// 4 of 5 folds a lambda earlier (docs/benchmarks.md).
  int patience = 2;
  /// Fold fits run at lambda * sqrt(fold entries / entries) by default
  /// (completion/path.hpp, CvLambdaScaling).
  CvLambdaScaling lambda_scaling = CvLambdaScaling::SqrtEntries;
  /// Tolerance of the fits that only score a fold (0 = game.tolerance;
  /// never tighter than it); without CV, of the path's lambdas above the
  /// last. On MovieLens-100k the fold fits' held-out RMSEs at 1e-3 (with the
  /// two settings below) are within 1.4e-4 of fits at 1e-4, against steps of
  /// 1e-3 to 1e-2 between neighbouring lambdas (docs/benchmarks.md, GAME CV
  /// path).
  double cv_tolerance = 1e-3;
  /// GameOptions::sweeps_per_iteration of those fits and of the refit's
  /// first stage: one dual sweep per outer iteration reaches the CV
  /// tolerance in half the sweeps of a solved prox.
  int cv_sweeps_per_iteration = 1;
  /// Run those fits, and the refit's first stage, in single precision (fold
  /// data centred and held-out entries scored in T): syrk, syevd and the
  /// products take about half the time, and blocks whose float Gram is too
  /// coarse are thresholded through a double one. On MovieLens-100k the fold
  /// errors match double fits to 1e-6. No effect when T is float.
  ///
  /// The returned fit: the chosen lambda (the last one without CV) is fitted
  /// from zero (after CV) or from the lambda above (without CV) to
  /// game.tolerance / 3 (not below 1e-5) with those settings, then polished
  /// in T with `game`, so its stopping test, tolerance and KKT report are
  /// game's. A fixed `lambda` is one fit_game with `game`.
  bool cv_float = true;
  /// Options of every fit (lambda is overwritten). final_check is applied to
  /// the final polish only; CV fits skip it. With several OpenMP threads the
  /// folds run in parallel, one thread each (completion's CV loop,
  /// CrossValidationOptions::parallel_folds), and the refit starts beside
  /// the last folds at the lambda the finished folds choose (side_task); it
  /// is kept only when the CV table of all folds picks the same lambda, so
  /// the results are those of one thread, bit for bit.
  /// Weight search (GameWeightSearch); needs CV (folds > 0, no fixed
  /// lambda). Costs one more CV path per candidate.
  GameWeightSearch weight_search = GameWeightSearch::None;
  /// PerGroup: the factors tried on each group's weight (each finite, > 0
  /// and not 1).
  std::vector<double> weight_multipliers = {0.5, 2.0};
  GameOptions game = game_path_fit_defaults();
  ProgressCallback progress;  ///< one event per fit (stage "game-path" / "game-cv")
};

template <class T>
struct GamePathFit {
  GameResult<T> result;                   ///< the fit at the chosen lambda (offset-free scale)
  Centering centering = Centering::None;  ///< the one used (Auto resolved)
  /// mu + row(i) + col(j) taken out before the fit; unset for None (Center:
  /// mu = 0, row / col the biScale means).
  std::optional<Biases<T>> offsets;
  /// Under Auto with CV: each candidate's best mean validation RMSE and its
  /// lambda (folds = the folds behind it).
  std::vector<CenteringScore> centering_scores;
  /// With a weight search: the chosen candidate's name (GameWeightScore)
  /// and every candidate's score in the order run; empty otherwise.
  std::string weighting;
  std::vector<GameWeightScore> weight_scores;
  std::vector<double> grid;            ///< lambdas tried, decreasing
  double lambda_max = 0.0;             ///< game_lambda_max on the (centred) data
  std::vector<CrossValidationRow> cv;  ///< one row per grid lambda when folds > 0
  std::size_t best_index = 0;
  int fits = 0;  ///< GAME fits behind the result (all folds + the final path)
  /// Fits of a speculative refit that was thrown away because the folds that
  /// had finished when it started chose another lambda than all of them did
  /// (see GamePathOptions::game; 0 on one thread).
  int discarded_fits = 0;
  /// Interrupted when stopped early (interrupt_requested(), Ctrl-C). As in
  /// fit_completion, the result is never empty once any fit has run: a
  /// Ctrl-C during cross-validation keeps the refit on all entries if it
  /// had started (at the lambda the finished folds chose, best_index
  /// pointing at it), otherwise the finished fold fit with the lowest
  /// validation RMSE (fitted on (k-1)/k of the entries, `offsets` those of
  /// its fold), otherwise the interrupted iterate of the first fit. Only an
  /// interrupt before any iteration leaves `result` empty (has_estimate()
  /// false, which game_group_errors and model() refuse).
  Status status = Status::Success;
  /// One line: why the returned fit stopped ("converged", "iteration cap
  /// 1000", "interrupted during cross-validation, fold 2/5 at lambda 4/10:
  /// the best fold fit so far (fold 1, lambda 3)").
  std::string stop_reason;
  double elapsed_s = 0.0;   ///< the whole call
  double cv_seconds = 0.0;  ///< of which cross-validation (all candidates)
  int cv_fits = 0;          ///< fold fits behind the CV table(s)

  /// Prediction in the original scale: estimate(i, j) + mu + row(i) + col(j).
  T predict(Index i, Index j) const;
  /// The m x n completed matrix in the original scale.
  Matrix<T> completed() const;
  /// The chosen fit as the one low-rank model type of every completion
  /// method, with the offsets (mu, row, col) of the centring, so predict /
  /// save / `lowrank predict` treat it as any other. Latent variant: one
  /// group part per group (its member rows and U_k diag(d_k) V_k^T), no
  /// shared part; predictions are predict()'s sums. Sum variant (G1 is one
  /// Z, not a sum of parts): the collapsed SVD, game_completion_model().
  /// Throws InvalidArgument when the result is empty.
  CompletionModel<T> model() const;
  /// The CV in completion's result type (table with the fold count per
  /// lambda, best lambda, status, fits, seconds); nullopt without CV.
  std::optional<CrossValidationResult<T>> cv_result() const;
};

/// Fits GAME with centring and lambda selection (see the file comment).
/// Throws InvalidArgument as fit_game does, and for lambdas < 1, min_ratio
/// outside (0, 1), folds == 1 or folds > number of entries, Centering::Scale,
/// bias_shrinkage < 0 or bias_sweeps < 1.
template <class T>
GamePathFit<T> fit_game_path(const ObservedEntries<T>& entries, const RowGroups& groups,
                             const GamePathOptions& options);

/// GAME's path in the result type of every completion method (lowrank::fit,
/// lowrank/fit.hpp): model() (its group parts; a zero model of the data's
/// shape, game.fitted false, when interrupted before any iteration),
/// cv_result(), status, stop_reason, timing, centring, and the `game` report
/// (settings as run from `options`, KKT residuals, fit counts, grid,
/// per-group ranks and right subspaces).
template <class T>
CompletionFit<T> to_completion_fit(GamePathFit<T>&& fit, const GamePathOptions& options);

/// The estimate (without offsets) collapsed into one SVD (no group parts):
/// what model() returns for the Sum variant; a dense result through model_from_dense (rank
/// at most the sum of the group ranks), a factored one from its stacked
/// group factors [E_k U_k S_k] [V_k]^T by two thin QRs and an SVD of the
/// small core, with no m x n array.
template <class T>
CompletionModel<T> game_completion_model(const GameResult<T>& result);

/// Progress for front-ends: one event per fitted lambda with totals, passed
/// to `sink` with the text in ProgressEvent::stage, e.g. "game-cv fold 2/5,
/// lambda 7/10 (12 of at most 100 fold fits, ~40 s left)" and "game-path
/// lambda 3/7 (fit on all entries)"; the time left assumes the remaining fold
/// fits cost the mean so far (fits at small lambdas cost more). Set it as
/// GamePathOptions::progress and leave GameOptions::progress unset: the
/// fits' own per-iteration events (50 a fit) are then not produced.
ProgressCallback game_path_progress(const GamePathOptions& options, ProgressCallback sink);

/// Prediction errors of `fit` on `entries`, overall and per user group
/// (errors of the entries in the group's rows; count 0 when none).
template <class T>
struct GameGroupErrors {
  ErrorMetrics overall;
  std::vector<ErrorMetrics> groups;  ///< RowGroups order
};
template <class T>
GameGroupErrors<T> game_group_errors(const GamePathFit<T>& fit, const RowGroups& groups,
                                     const ObservedEntries<T>& entries);
/// The same for a model (GamePathFit::model(), a loaded one): evaluate() on
/// all entries and on those of each group's rows (clipped as the model clips).
template <class T>
GameGroupErrors<T> game_group_errors(const CompletionModel<T>& model, const RowGroups& groups,
                                     const ObservedEntries<T>& entries);

/// Effective rank of a group's fit: the number of singular values above
/// `relative_tol` * the largest (0 for an all-zero block).
template <class T>
Index effective_rank(const GameGroupFit<T>& group, double relative_tol = 1e-6);

/// Principal angles (radians, increasing) between the top-r right singular
/// subspace of a group's fit (r = min(rank, reference.cols())) and the
/// column space of `reference` (n x r_ref). Empty when the fit has rank 0.
template <class T>
Vector<T> group_subspace_angles(const GameGroupFit<T>& group, const Matrix<T>& reference);

extern template GamePathFit<float> fit_game_path(const ObservedEntries<float>&, const RowGroups&,
                                                 const GamePathOptions&);
extern template GamePathFit<double> fit_game_path(const ObservedEntries<double>&, const RowGroups&,
                                                  const GamePathOptions&);

}  // namespace lowrank
