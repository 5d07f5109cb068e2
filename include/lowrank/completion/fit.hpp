#pragma once
// One entry point for completion: centring, the lambda path, k-fold
// cross-validation, the final refit and interruption, for soft-impute (both
// forms), ALS and robust ALS. `lowrank complete` and Python's SoftImpute /
// ALS reach it through lowrank::fit (lowrank/fit.hpp, which also fits GAME)
// and nothing else, so the defaults below are the defaults of every
// front-end (which print them in their help).
//
// With the defaults (no lambda given, Centering::Auto) soft-impute runs:
//
//   1. candidates for the centring: Biases (x_ij - mu - b_i - c_j with
//      shrunken biases, fit_biases() below) and None (the raw values, R
//      softImpute's default), in that order;
//   2. for each candidate, k-fold CV over a log grid of lambdas from that
//      candidate's lambda_max (path.hpp: warm starts, sqrt(fold share)
//      scaling, patience); the same folds for both, so the two tables are
//      paired, and a candidate more than `screen_margin` worse after the
//      first fold is not run on the others; on the first fold the second
//      candidate's path stops once it cannot come within that margin
//      (cross_validate_candidates).
//      At lambda_max the low-rank part is 0, so the Biases table's
//      first row is the validation error of the bias model alone, and the
//      None table's first row that of predicting 0: the chosen pair (centring,
//      lambda) never validates worse than the bias baseline;
//   3. the pair with the smallest mean validation RMSE is refitted on all
//      entries along its path down to the chosen lambda; a fit stopped by
//      the iteration cap is continued from where it stopped (up to
//      `max_iteration_rounds` caps) so the cap does not decide the answer,
//      and the result says which caps bound.
//
// Why validate the centring rather than always centre: row and column means
// estimated from few entries carry their own error. On a planted rank-3
// 200 x 300 block with zero-mean factors and 12% observed, uncentred
// soft-impute reaches a test RMSE of 0.45 and biScale centring 0.78; on
// MovieLens-100k centring wins (docs/completion.md, "Defaults"). Shrinkage
// (b_i = sum_j r_ij / (n_i + s)) pulls the biases of sparse rows towards 0,
// and validation settles the rest.
//
// Interruption (interrupt_requested(), Ctrl-C in the CLI and Python): the
// result always holds a usable model of the data's shape, never an empty
// one: during CV the fold fit with the best validation RMSE so far (fitted on
// (k-1)/k of the entries), during the refit its last iterate; status is
// Interrupted and stop_reason says where it stopped.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lowrank/completion/als.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/completion/path.hpp"
#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/progress.hpp"

namespace lowrank {

enum class CompletionMethod {
  SoftImpute,     ///< soft-impute, ALS form (Hastie et al. 2015, Alg. 3.1)
  SoftImputeSvd,  ///< soft-impute, SVD form (Mazumder et al. 2010, Alg. 1)
  Als,            ///< hard-rank ALS (als.hpp)
  RobustAls,      ///< hard-rank ALS with Huber-clipped residuals
  /// GAME (game/path.hpp): needs row groups and GamePathOptions, so only
  /// lowrank::fit (lowrank/fit.hpp) fits it; fit_completion refuses it.
  Game,
};
/// "soft-impute" | "soft-impute-svd" | "als" | "robust-als" | "game".
const char* to_string(CompletionMethod m) noexcept;
/// Inverse of to_string; throws InvalidArgument naming the choices.
CompletionMethod parse_completion_method(std::string_view name);

/// What is taken out of the observed values before the low-rank fit (and
/// added back by the model's offsets / scales).
enum class Centering {
  Auto,    ///< soft-impute with CV: CV chooses between None and Biases; otherwise None
  None,    ///< the raw values
  Biases,  ///< mu + b_i + c_j with shrunken biases (fit_biases)
  Center,  ///< biScale row and column centring (biscale.hpp), no scaling
  Scale,   ///< biScale centring and scaling
};
/// "auto" | "none" | "biases" | "center" | "scale".
const char* to_string(Centering c) noexcept;
Centering parse_centering(std::string_view name);

/// Global mean plus shrunken row and column biases:
///   min over b, c of  sum_Omega (x_ij - mu - b_i - c_j)^2 + s (||b||^2 + ||c||^2),
/// mu the mean of the observed values (fixed), by `sweeps` exact block
/// coordinate steps c_j = sum_i (x_ij - mu - b_i) / (n_j + s), then
/// b_i = sum_j (x_ij - mu - c_j) / (n_i + s) (Koren 2010, "Factor in the
/// neighbors", sec. 2.1, with equal shrinkage for users and items). Rows or
/// columns without entries get 0.
template <class T>
struct Biases {
  double mu = 0.0;
  Vector<T> row;  ///< b, m
  Vector<T> col;  ///< c, n
  /// x - mu - b_i - c_j at the same positions (ids kept).
  ObservedEntries<T> residuals(const ObservedEntries<T>& x) const;
};

/// Throws InvalidArgument for an empty set, shrinkage < 0 or sweeps < 1.
template <class T>
Biases<T> fit_biases(const ObservedEntries<T>& x, double shrinkage, int sweeps);

struct CompletionFitOptions {
  CompletionMethod method = CompletionMethod::SoftImpute;
  /// Fixed regularisation: one fit, no path and no CV (soft-impute: the
  /// nuclear-norm weight; ALS: the L2 weight). Unset: soft-impute runs the
  /// path (and CV when folds > 0); ALS uses als.lambda, or the path and CV
  /// when `als_path` is set or a `lambdas` grid is given.
  std::optional<double> lambda;
  /// Explicit decreasing grid instead of the log grid from lambda_max.
  std::vector<double> lambdas;
  /// ALS: run the path and CV (with `folds`) over the log grid from
  /// als_lambda_max() (or over `lambdas`) instead of one fit at als.lambda.
  /// Soft-impute ignores it (its path is the default).
  bool als_path = false;
  /// Log grid: `lambda_count` values from lambda_max down to
  /// lambda_max * min_ratio.
  int lambda_count = 20;
  double min_ratio = 1e-3;
  /// k-fold CV over the grid; 0 = no CV (the path runs to its end and the
  /// last lambda is kept).
  int folds = 5;
  CvLambdaScaling cv_scaling = CvLambdaScaling::SqrtEntries;
  /// See CrossValidationOptions::patience. 1: a fold stops at its first
  /// rise; the refinement (cv_refine) then scores the interval between the
  /// best lambda and that point. The second point past the minimum (2, the
  /// value before the refinement) was never chosen on MovieLens u1 (+1.7 %
  /// there) and cost one rank-50 fit per fold.
  int patience = 1;
  /// CrossValidationOptions::rise_margin: a fold also stops at a rise of more
  /// than 1 % above its minimum (on u1 it saves one rank-50 fit per fold and
  /// changes no choice).
  double rise_margin = 0.01;
  /// Tolerance of the fold fits (the larger of this and the solver's own):
  /// validation RMSE settles long before the objective's fifth digit, and
  /// each fold fit warm-starts the next; the refit uses the solver's.
  double cv_tolerance = 1e-4;
  /// Centering::Auto: a centring whose first-fold validation RMSE is worse
  /// than the other's by more than this fraction is not run on the other
  /// folds (CrossValidationOptions::screen_margin; < 0 = never).
  double screen_margin = 0.02;
  /// Lambdas tried between the CV's best grid lambda and each neighbour, on
  /// the same folds with warm starts (CrossValidationOptions::refine; 0: the
  /// grid only). The refit on all entries then runs the grid down to the
  /// chosen lambda, or is one fit there warm-started from the best fold fit
  /// when that fills the rank cap and lies within one row of the choice
  /// (docs/completion.md).
  int cv_refine = 1;
  /// Soft-impute in double: run the fold fits of the CV in single precision
  /// (the refit stays in T). They only score lambdas: on MovieLens u1 the
  /// float fold fits give the same table to ~1e-6 and the same lambda, at
  /// about two thirds of the CPU time (docs/benchmarks.md, issue 34).
  bool cv_float32 = true;
  Centering centering = Centering::Auto;
  /// s of fit_biases (in entries: a row with n_i entries keeps n_i / (n_i + s)
  /// of its mean residual).
  double bias_shrinkage = 5.0;
  int bias_sweeps = 15;
  /// The returned fit (fixed lambda, or the refit at the chosen one): when it
  /// stops at the iteration cap it is resumed from its iterate, up to this
  /// many caps in all (1 = never resumed). CV's fold fits are not resumed:
  /// each warm-starts the next lambda's.
  int max_iteration_rounds = 5;
  /// Soft-impute, ALS form, along a path (CV folds and the refit): the fit
  /// at each lambda runs at a working rank of the warm start's rank plus this
  /// margin (capped by max_rank) instead of max_rank, and is resumed at twice
  /// that rank while its solution fills it (every singular value left > 0
  /// after the final soft-threshold). When the solution's rank is below the
  /// working rank the factored problem has the convex problem's minimum
  /// (Hastie et al. 2015: factors with r >= rank(Z*) columns reach the
  /// nuclear-norm solution Z*), so the answer is that of max_rank at a
  /// cost per iteration O(|Omega| r) in the rank r actually needed: the
  /// early, heavily shrunk points of a path are rank 1-10, not 50.
  /// 0 = always max_rank. Fixed-lambda fits always use max_rank.
  Index working_rank_margin = 5;
  /// Iterations a path fit runs at each working rank before checking whether
  /// that rank is already full (then it grows at once, not after a full
  /// solve); 0 = check only after the solve.
  int working_rank_probe = 5;
  /// Soft-impute settings (max_rank, tolerance, max_iterations, variant
  /// from `method`, debias, svd, threads). Its lambda and scaling are set
  /// here from `lambda` and `centering`.
  SoftImputeOptions soft_impute;
  /// ALS settings (rank, lambda, biases, robust from `method`, ...).
  AlsOptions als;
  /// Folds, solvers' random starts.
  std::uint64_t seed = 0;
  /// Path-level events ("cv [biases] fold 2/5 lambda 7/20", "lambda-path");
  /// with a fixed lambda, the solver's per-iteration events.
  ProgressCallback progress;
  /// Store the observed values and run the solvers in single precision
  /// (float), the result returned in T: 4 bytes less per stored value and
  /// half the factors' memory (docs/benchmarks.md, "Peak memory per
  /// observed entry"); the test RMSE agrees with the double fit to about
  /// 1e-5 relative (tests/completion). CLI --float32, Python float32=True.
  bool float32 = false;
  /// The solvers' per-iteration events inside the path and CV (Python uses
  /// them to poll Ctrl-C often; the CLI leaves this empty).
  ProgressCallback solver_progress;
};

/// Validation RMSE of one centring candidate (Centering::Auto).
struct CenteringScore {
  Centering centering = Centering::None;
  double best_rmse = 0.0;  ///< best mean validation RMSE over the grid
  double best_lambda = 0.0;
  int folds = 0;  ///< folds behind best_rmse (1 when screened out after the first)
};

/// A candidate's score from its CV table: the row at best_index (its mean
/// RMSE, lambda and fold count). fit_completion and GAME's path score their
/// centring candidates with it.
CenteringScore centering_score(Centering centering, const std::vector<CrossValidationRow>& table,
                               std::size_t best_index);

/// One weight candidate of a search: its name ("sqrt-size", "sampled",
/// "a2 x0.5"), its weights (user groups, then the global group), and its
/// best mean validation RMSE and lambda (NaN when it did not run to the end).
struct GameWeightScore {
  std::string candidate;
  std::vector<double> weights;
  double cv_rmse = 0.0;
  double lambda = 0.0;
};

/// What only GAME reports (CompletionFit::game): its settings as run, the
/// KKT residuals of the returned fit and one row per group. Plain data, so
/// completion holds GAME's result without including game/ (game sits above
/// it); filled by to_completion_fit() (game/path.hpp).
template <class T>
struct GameReport {
  /// False only for a fit interrupted before its first iteration: `model`
  /// is then a zero model of the data's shape and nothing was fitted.
  bool fitted = true;
  std::string variant, solver, storage;  ///< as run (storage "dense" | "factored")
  std::string weight_scheme;
  bool global_group = true;
  double objective = 0.0;  ///< exact (G1)/(G2) objective of the returned fit
  int fits = 0;            ///< GAME fits behind the result (all folds + the final path)
  int discarded_fits = 0;  ///< of a speculative refit thrown away (GamePathFit)
  int inner_sweeps = 0;
  std::vector<double> grid;  ///< lambdas tried, decreasing
  /// With a weight search (GamePathOptions::weight_search): the chosen
  /// candidate's name and every candidate's score in the order run.
  std::string weighting;
  std::vector<GameWeightScore> weight_scores;
  struct Kkt {
    bool computed = false;
    double max = 0.0, stationarity = 0.0, dual_feasibility = 0.0, complementarity = 0.0, consensus = 0.0;
  } kkt;
  struct Group {
    std::string name;
    Index size = 0;
    std::int64_t observed = 0;
    double weight = 0.0;
    Index rank = 0;
    Index effective_rank = 0;
    bool rank_capped = false;
  };
  std::vector<Group> groups;  ///< user groups in RowGroups order, then "all"
  /// Sum variant only: each group block's factors (name, member rows,
  /// U_k diag(d_k) V_k^T). The Sum estimate is one matrix whose group blocks
  /// are low-rank, not a sum of parts, so the model holds its collapsed SVD
  /// and the blocks live here; a Latent fit's are the model's group parts
  /// (game_group_factors() reads either).
  std::vector<LowRankGroupPart<T>> sum_blocks;
};

template <class T>
struct CompletionFit {
  CompletionModel<T> model;  ///< of the data's shape, also when interrupted
  CompletionMethod method = CompletionMethod::SoftImpute;
  Centering centering = Centering::None;  ///< the one used (Auto resolved)
  double lambda = 0.0;                    ///< of the returned model
  double lambda_max = -1.0;               ///< of the chosen centring; < 0 when not computed
  Index max_rank = 0;                     ///< soft-impute's rank cap in use (ALS: its rank)
  int iterations = 0;                     ///< of the final fit (all rounds)
  std::vector<double> objective_trace;    ///< of the final fit
  Status status = Status::Success;
  /// One line: why the final fit stopped ("converged", "iteration cap 100
  /// (3 rounds)", "interrupted during cross-validation, fold 2/5 ...").
  std::string stop_reason;
  /// Caps that bound the returned fit: "rank" (soft-impute's rank reached
  /// max_rank, so the convex problem was not solved), "iterations" (still
  /// not converged after max_iteration_rounds caps).
  std::vector<std::string> caps_bound;
  double elapsed_s = 0.0;  ///< the whole call
  double cv_seconds = 0.0;
  std::optional<CrossValidationResult<T>> cv;    ///< the chosen centring's
  std::vector<CenteringScore> centering_scores;  ///< each candidate under Auto
  std::optional<PathResult<T>> path;             ///< the final refit's path
  double clip_threshold = 0.0;                   ///< robust ALS
  Index empty_rows = 0, empty_cols = 0;
  std::vector<std::string> warnings;
  /// GAME only (method Game, through lowrank::fit): its KKT report, fit
  /// counts and per-group ranks; the group factors are in model.groups.
  std::optional<GameReport<T>> game;
};

/// Group k's factors of a GAME fit: model.groups[k] (Latent) or
/// game->sum_blocks[k] (Sum).
template <class T>
const LowRankGroupPart<T>& game_group_factors(const CompletionFit<T>& fit, std::size_t k) {
  return fit.model.groups.empty() ? fit.game->sum_blocks.at(k) : fit.model.groups.at(k);
}

/// The top of ALS's lambda grid: the smallest L2 weight at which P Q^T = 0
/// is optimal for the factored objective of als.hpp without biases. With
/// w_i = |Omega_i| (Frequency weighting), lambda/2 (sum w_i |p_i|^2 +
/// sum w_j |q_j|^2) is, minimised over factorisations of Z, the weighted
/// trace norm lambda ||W_r^(1/2) Z W_c^(1/2)||_* (Srebro & Salakhutdinov
/// 2010, sec. 3), so Z = 0 is optimal iff lambda >= ||W_r^(-1/2) P_Omega(X - mu)
/// W_c^(-1/2)||_2 (the subgradient condition of MHT 2010, eq. 1; W = I for
/// Uniform). mu is the mean with biases (0 without); learned biases absorb
/// part of the signal, so there the value is an upper end of the grid.
template <class T>
double als_lambda_max(const ObservedEntries<T>& data, const AlsOptions& options);

/// Fits `data` as described at the top of this header. Throws
/// InvalidArgument for bad options or data (the solvers' checks, folds == 1,
/// folds > entries, a lambda < 0, an increasing grid).
template <class T>
CompletionFit<T> fit_completion(const ObservedEntries<T>& data, const CompletionFitOptions& options);

/// As fit_completion(), storing the solvers' sparse matrix in `data`'s own
/// arrays instead of copying them (soft_impute_in_place, als_in_place):
/// peak memory about one copy of the entries. On return `data` holds the
/// same entries sorted by (row, col) (with float32, values rounded to
/// float). Same result as fit_completion() on the same data.
template <class T>
CompletionFit<T> fit_completion_in_place(ObservedEntries<T>& data, const CompletionFitOptions& options);

/// fit_completion_in_place(double entries, options with float32) for entries
/// whose values were read as float (io::read_triplets_float32, the CLI's
/// `--float32`), so they never exist in double: the fit runs in float
/// (options.float32 is implied), its result in double. On return `data` is
/// empty and `back` holds its entries sorted by (row, col), ids moved over,
/// values widened to double: what fit_completion_in_place returns in `data`
/// from the same values read as double.
CompletionFit<double> fit_completion_float32_in_place(ObservedEntries<float>& data, ObservedEntries<double>& back,
                                                      const CompletionFitOptions& options);

}  // namespace lowrank
