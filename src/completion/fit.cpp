#include "lowrank/completion/fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "completion/detail.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank {

const char* to_string(CompletionMethod m) noexcept {
  switch (m) {
    case CompletionMethod::SoftImpute:
      return "soft-impute";
    case CompletionMethod::SoftImputeSvd:
      return "soft-impute-svd";
    case CompletionMethod::Als:
      return "als";
    case CompletionMethod::RobustAls:
      return "robust-als";
    case CompletionMethod::Game:
      return "game";
  }
  return "?";
}

CompletionMethod parse_completion_method(std::string_view name) {
  for (CompletionMethod m : {CompletionMethod::SoftImpute, CompletionMethod::SoftImputeSvd, CompletionMethod::Als,
                             CompletionMethod::RobustAls, CompletionMethod::Game})
    if (name == to_string(m)) return m;
  throw InvalidArgument("method must be 'soft-impute', 'soft-impute-svd', 'als', 'robust-als' or 'game', got '" +
                        std::string(name) + "'");
}

const char* to_string(Centering c) noexcept {
  switch (c) {
    case Centering::Auto:
      return "auto";
    case Centering::None:
      return "none";
    case Centering::Biases:
      return "biases";
    case Centering::Center:
      return "center";
    case Centering::Scale:
      return "scale";
  }
  return "?";
}

Centering parse_centering(std::string_view name) {
  for (Centering c : {Centering::Auto, Centering::None, Centering::Biases, Centering::Center, Centering::Scale})
    if (name == to_string(c)) return c;
  throw InvalidArgument("centering must be 'auto', 'none', 'biases', 'center' or 'scale', got '" + std::string(name) +
                        "'");
}

CenteringScore centering_score(Centering centering, const std::vector<CrossValidationRow>& table,
                               std::size_t best_index) {
  const CrossValidationRow& row = table.at(best_index);
  return {centering, row.mean_rmse, row.lambda, row.folds};
}

template <class T>
ObservedEntries<T> Biases<T>::residuals(const ObservedEntries<T>& x) const {
  ObservedEntries<T> out = x;
  for (std::size_t k = 0; k < out.nnz(); ++k) {
    out.value[k] = static_cast<T>(static_cast<double>(x.value[k]) - mu - static_cast<double>(row(x.row[k])) -
                                  static_cast<double>(col(x.col[k])));
  }
  return out;
}

template <class T>
Biases<T> fit_biases(const ObservedEntries<T>& x, double shrinkage, int sweeps) {
  completion_detail::check_entries(x, "fit_biases");
  if (!(shrinkage >= 0) || !std::isfinite(shrinkage))
    throw InvalidArgument("fit_biases: shrinkage must be finite and >= 0, got " + std::to_string(shrinkage));
  if (sweeps < 1) throw InvalidArgument("fit_biases: sweeps must be >= 1, got " + std::to_string(sweeps));
  std::vector<std::int64_t> nr, nc;
  completion_detail::count_observations(x, nr, nc);
  Biases<T> b;
  double sum = 0;
  for (T v : x.value) sum += static_cast<double>(v);
  b.mu = sum / static_cast<double>(x.nnz());
  std::vector<double> br(static_cast<std::size_t>(x.rows), 0.0), bc(static_cast<std::size_t>(x.cols), 0.0);
  std::vector<double> acc;
  // Each step minimises the penalised least squares exactly over one block,
  // so the objective decreases monotonically (block coordinate descent).
  for (int s = 0; s < sweeps; ++s) {
    acc.assign(bc.size(), 0.0);
    for (std::size_t k = 0; k < x.nnz(); ++k)
      acc[static_cast<std::size_t>(x.col[k])] +=
          static_cast<double>(x.value[k]) - b.mu - br[static_cast<std::size_t>(x.row[k])];
    for (std::size_t j = 0; j < bc.size(); ++j)
      bc[j] = nc[j] > 0 ? acc[j] / (static_cast<double>(nc[j]) + shrinkage) : 0.0;
    acc.assign(br.size(), 0.0);
    for (std::size_t k = 0; k < x.nnz(); ++k)
      acc[static_cast<std::size_t>(x.row[k])] +=
          static_cast<double>(x.value[k]) - b.mu - bc[static_cast<std::size_t>(x.col[k])];
    for (std::size_t i = 0; i < br.size(); ++i)
      br[i] = nr[i] > 0 ? acc[i] / (static_cast<double>(nr[i]) + shrinkage) : 0.0;
  }
  b.row = Eigen::Map<const Vector<double>>(br.data(), x.rows).cast<T>();
  b.col = Eigen::Map<const Vector<double>>(bc.data(), x.cols).cast<T>();
  return b;
}

template <class T>
double als_lambda_max(const ObservedEntries<T>& data, const AlsOptions& options) {
  completion_detail::check_entries(data, "als_lambda_max");
  double mu = 0;
  if (options.biases) {
    for (T v : data.value) mu += static_cast<double>(v);
    mu /= static_cast<double>(data.nnz());
  }
  std::vector<std::int64_t> nr, nc;
  completion_detail::count_observations(data, nr, nc);
  ObservedEntries<T> s = data;
  for (std::size_t k = 0; k < s.nnz(); ++k) {
    double v = static_cast<double>(s.value[k]) - mu;
    if (options.weighting == RegularizationWeighting::Frequency)
      v /= std::sqrt(static_cast<double>(nr[static_cast<std::size_t>(s.row[k])]) *
                     static_cast<double>(nc[static_cast<std::size_t>(s.col[k])]));
    s.value[k] = static_cast<T>(v);
  }
  return lambda_max(s);
}

namespace {

bool is_soft_impute(CompletionMethod m) {
  return m == CompletionMethod::SoftImpute || m == CompletionMethod::SoftImputeSvd;
}

// The soft-impute options of one centring (biScale for Center / Scale; the
// Biases centring is applied by the fit function itself).
SoftImputeOptions soft_impute_base(const CompletionFitOptions& o, Centering c) {
  SoftImputeOptions s = o.soft_impute;
  s.variant = o.method == CompletionMethod::SoftImputeSvd ? SoftImputeVariant::Svd : SoftImputeVariant::Als;
  s.seed = o.seed;
  s.scaling.reset();
  if (c == Centering::Center || c == Centering::Scale) {
    BiScaleOptions b;
    b.row_scale = b.col_scale = c == Centering::Scale;
    s.scaling = b;
  }
  return s;
}

// Soft-impute at a working rank that follows the solution's rank
// (CompletionFitOptions::working_rank_margin): start at the warm start's rank
// plus `margin`, and while the fit fills its working rank (its solution may
// need more), resume it from its own iterate at twice that rank, up to
// s.max_rank. Each rank is first run for a few iterations only (`probe`):
// when that iterate already fills the working rank, the rank grows at once
// instead of after a full solve at a rank that is too small (on MovieLens u1
// the refit at the chosen lambda took 79 iterations, 36 more than a cold
// start at max_rank, by converging at rank 30 first). Iterations and traces
// add up over the rounds; the cap s.max_iterations applies per rank.
template <class T>
CompletionResult<T> soft_impute_growing(const ObservedEntries<T>& x, ObservedEntries<T>* own,
                                        const SoftImputeOptions& s, const CompletionModel<T>* warm, Index margin,
                                        int probe) {
  const Index cap = std::min({s.max_rank, x.rows, x.cols});
  const Index start = warm ? warm->rank() : 0;
  SoftImputeOptions o = s;
  o.max_rank = std::min(cap, start + margin);
  auto add = [](CompletionResult<T>& next, CompletionResult<T>& r) {
    next.iterations += r.iterations;
    next.objective_trace.insert(next.objective_trace.begin(), r.objective_trace.begin(), r.objective_trace.end());
    next.elapsed_s += r.elapsed_s;
    for (auto& w : r.warnings) next.warnings.push_back(std::move(w));
  };
  auto full = [&](const CompletionResult<T>& r) {
    return r.model.rank() >= o.max_rank && o.max_rank < cap && r.status != Status::Interrupted &&
           r.status != Status::NumericalIssue;
  };
  // own: solve in the caller's arrays (fit_completion_in_place), else on a copy.
  auto run = [&](const SoftImputeOptions& opts, const CompletionModel<T>* from) {
    return own ? soft_impute_in_place(*own, opts, from) : soft_impute(x, opts, from);
  };
  std::optional<CompletionResult<T>> r;
  while (true) {
    const CompletionModel<T>* from = r ? &r->model : warm;
    CompletionResult<T> next;
    if (o.max_rank < cap && probe > 0 && probe < s.max_iterations) {
      SoftImputeOptions p = o;
      p.max_iterations = probe;
      next = run(p, from);
      const bool stopped = next.status == Status::Interrupted || next.status == Status::NumericalIssue;
      if (next.status == Status::NotConverging && !full(next) && !stopped) {
        // The probe did not fill the rank: finish this rank's solve.
        SoftImputeOptions rest = o;
        rest.max_iterations = s.max_iterations - probe;
        CompletionResult<T> more = run(rest, &next.model);
        add(more, next);
        next = std::move(more);
      }
    } else {
      next = run(o, from);
    }
    if (r) add(next, *r);
    r = std::move(next);
    if (!full(*r)) break;
    o.max_rank = std::min(cap, 2 * o.max_rank);
  }
  return std::move(*r);
}

// Fits soft-impute at one lambda. Under Biases the biases are fitted on the
// entries the call sees (a fold's training part in CV, so validation sees
// no leak), the low-rank part on what they leave, and the model carries
// them as its offsets. A call on `own` (the caller's entries, lent by
// fit_completion_in_place) or on the bias residuals, a temporary, stores the
// solver's matrix in those arrays instead of a copy.
template <class T>
PathFitFunction<T> soft_impute_fit(const CompletionFitOptions& o, Centering c, const ProgressCallback& solver,
                                   bool in_cv, bool on_path, ObservedEntries<T>* own) {
  SoftImputeOptions base = soft_impute_base(o, c);
  base.progress = solver;
  if (in_cv) base.tolerance = std::max(base.tolerance, o.cv_tolerance);
  const double shrink = o.bias_shrinkage;
  const int sweeps = o.bias_sweeps;
  const int probe = o.working_rank_probe;
  // The working rank grows only where the final soft-threshold makes the
  // unused directions exact zeros (the ALS form with final_svd); the SVD form
  // sizes its own SVDs.
  const Index margin = on_path && base.variant == SoftImputeVariant::Als && base.final_svd ? o.working_rank_margin : 0;
  return [base, c, shrink, sweeps, margin, probe, own](const ObservedEntries<T>& data, double lambda,
                                                       const CompletionModel<T>* warm) {
    SoftImputeOptions s = base;
    s.lambda = lambda;
    auto solve = [&](const ObservedEntries<T>& x, ObservedEntries<T>* mine) {
      if (margin > 0 && lambda > 0) return soft_impute_growing(x, mine, s, warm, margin, probe);
      return mine ? soft_impute_in_place(*mine, s, warm) : soft_impute(x, s, warm);
    };
    if (c != Centering::Biases) return solve(data, own == &data ? own : nullptr);
    const Biases<T> b = fit_biases(data, shrink, sweeps);
    ObservedEntries<T> resid = b.residuals(data);
    CompletionResult<T> r = solve(resid, &resid);
    r.model.global_offset = static_cast<T>(b.mu);
    r.model.row_offset = b.row;
    r.model.col_offset = b.col;
    return r;
  };
}

// A fold fit of CompletionFitOptions::cv_float32: `f` runs on the fold's
// entries and warm start in float, its model comes back in T (each call
// converts O(nnz) values, against the fit's O(nnz r) per iteration).
// The fields of a fit's outcome other than its model and warnings, from a
// solver's result into another result (another value type, or the fit).
template <class Out, class In>
void copy_outcome(Out& out, In& r) {
  out.objective_trace = std::move(r.objective_trace);
  out.iterations = r.iterations;
  out.status = r.status;
  out.lambda = r.lambda;
  out.clip_threshold = r.clip_threshold;
  out.empty_rows = r.empty_rows;
  out.empty_cols = r.empty_cols;
}

template <class T>
PathFitFunction<T> in_float32(PathFitFunction<float> f) {
  return [f = std::move(f)](const ObservedEntries<T>& data, double lambda, const CompletionModel<T>* warm) {
    ObservedEntries<float> x;
    x.rows = data.rows;
    x.cols = data.cols;
    x.row = data.row;
    x.col = data.col;
    x.value.assign(data.value.begin(), data.value.end());
    std::optional<CompletionModel<float>> w;
    if (warm) w = model_cast<float>(CompletionModel<T>(*warm));
    CompletionResult<float> r = f(x, lambda, w ? &*w : nullptr);
    CompletionResult<T> out;
    out.model = model_cast<T>(std::move(r.model));
    copy_outcome(out, r);
    out.elapsed_s = r.elapsed_s;
    out.warnings = std::move(r.warnings);
    return out;
  };
}

template <class T>
PathFitFunction<T> als_fit(const CompletionFitOptions& o, const ProgressCallback& solver, bool in_cv,
                           ObservedEntries<T>* own) {
  AlsOptions base = o.als;
  if (in_cv) base.tolerance = std::max(base.tolerance, o.cv_tolerance);
  base.robust = o.method == CompletionMethod::RobustAls;
  base.seed = o.seed;
  base.progress = solver;
  return [base, own](const ObservedEntries<T>& data, double lambda, const CompletionModel<T>* warm) {
    AlsOptions a = base;
    a.lambda = lambda;
    return own == &data ? als_in_place(*own, a, warm) : als(data, a, warm);
  };
}

template <class T>
double lambda_max_of(const ObservedEntries<T>& data, const CompletionFitOptions& o, Centering c) {
  if (!is_soft_impute(o.method)) return als_lambda_max(data, o.als);
  if (c == Centering::Biases) return lambda_max(fit_biases(data, o.bias_shrinkage, o.bias_sweeps).residuals(data));
  return lambda_max(data, soft_impute_base(o, c).scaling);
}

std::string fmt_g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Copies one fit's outcome into the result (model, trace, status, warnings).
template <class T>
void take_fit(CompletionFit<T>& out, CompletionResult<T>&& r) {
  out.model = std::move(r.model);
  copy_outcome(out, r);
  for (auto& w : r.warnings) out.warnings.push_back(std::move(w));
}

// fit_completion and fit_completion_in_place (own == &data: the solvers may
// store their matrix in data's arrays).
template <class T>
CompletionFit<T> fit_completion_impl(const ObservedEntries<T>& data, ObservedEntries<T>* own,
                                     const CompletionFitOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  completion_detail::check_entries(data, "fit_completion");
  CompletionFitOptions o = options;
  std::vector<std::string> notes;
  if (!is_soft_impute(o.method) && o.als.rank > std::min(data.rows, data.cols)) {
    notes.push_back("ALS rank " + std::to_string(o.als.rank) +
                    " exceeds min(m, n) = " + std::to_string(std::min(data.rows, data.cols)) + "; using " +
                    std::to_string(std::min(data.rows, data.cols)));
    o.als.rank = std::min(data.rows, data.cols);
  }
  if (o.folds == 1 || o.folds < 0)
    throw InvalidArgument("fit_completion: folds must be 0 (no CV) or >= 2, got " + std::to_string(o.folds));
  if (o.lambda && (!(*o.lambda >= 0) || !std::isfinite(*o.lambda)))
    throw InvalidArgument("fit_completion: lambda must be finite and >= 0, got " + std::to_string(*o.lambda));
  if (o.max_iteration_rounds < 1)
    throw InvalidArgument("fit_completion: max_iteration_rounds must be >= 1, got " +
                          std::to_string(o.max_iteration_rounds));
  const bool soft = is_soft_impute(o.method);
  CompletionFit<T> out;
  out.warnings = std::move(notes);
  out.method = o.method;
  out.max_rank = soft ? std::min<Index>({o.soft_impute.max_rank, data.rows, data.cols}) : o.als.rank;
  const ProgressCallback& solver_events = o.solver_progress;

  // Candidates for the centring, each with its fit function and grid.
  std::vector<Centering> candidates;
  if (!soft) {
    if (o.centering != Centering::Auto && o.centering != Centering::None)
      throw InvalidArgument(std::string("fit_completion: centering '") + to_string(o.centering) +
                            "' applies to soft-impute; ALS learns biases jointly (AlsOptions::biases)");
    candidates = {Centering::None};
  } else if (o.centering == Centering::Auto) {
    // With a fixed lambda there is nothing to validate: the values are fitted
    // as they are (the behaviour before Auto existed).
    candidates =
        o.lambda ? std::vector<Centering>{Centering::None} : std::vector<Centering>{Centering::Biases, Centering::None};
    // Biases first: an interrupt in the first fold then keeps a fit at least
    // as good as the bias model, and the uncentred path can stop early on
    // the first fold once it cannot catch up (cross_validate_candidates).
  } else {
    candidates = {o.centering};
  }
  if (o.working_rank_margin < 0)
    throw InvalidArgument("fit_completion: working_rank_margin must be >= 0, got " +
                          std::to_string(o.working_rank_margin));
  auto fit_function = [&](Centering c, const ProgressCallback& events, bool in_cv = false, bool on_path = true) {
    return soft ? soft_impute_fit<T>(o, c, events, in_cv, on_path, own) : als_fit<T>(o, events, in_cv, own);
  };

  // A fixed lambda (or ALS without a grid): one fit, no path.
  if (o.lambda || (!soft && o.lambdas.empty() && !o.als_path)) {
    const Centering c = candidates.front();
    out.centering = c;
    const double lam = o.lambda ? *o.lambda : o.als.lambda;
    const PathFitFunction<T> fit = fit_function(c, solver_events ? solver_events : o.progress, false, false);
    take_fit(out, fit(data, lam, nullptr));
    int rounds = 1;
    while (out.status == Status::NotConverging && rounds < o.max_iteration_rounds) {
      CompletionResult<T> r = fit(data, lam, &out.model);
      ++rounds;
      out.model = std::move(r.model);
      out.status = r.status;
      out.iterations += r.iterations;
      out.objective_trace.insert(out.objective_trace.end(), r.objective_trace.begin(), r.objective_trace.end());
      out.clip_threshold = r.clip_threshold;
    }
    out.elapsed_s = seconds_since(t0);
    const int cap = soft ? o.soft_impute.max_iterations : o.als.max_iterations;
    out.stop_reason =
        out.status == Status::Success ? (rounds > 1 ? "converged after " + std::to_string(rounds) + " rounds of the " +
                                                          std::to_string(cap) + "-iteration cap"
                                                    : "converged")
        : out.status == Status::NotConverging ? "iteration cap: not converged after " + std::to_string(rounds) + " x " +
                                                    std::to_string(cap) + " iterations"
        : out.status == Status::Interrupted ? "interrupted: the last iterate"
                                            : std::string(to_string(out.status));
    if (out.status == Status::NotConverging) out.caps_bound.push_back("iterations");
    if (soft && out.model.rank() >= out.max_rank) out.caps_bound.push_back("rank");
    return out;
  }

  // Grids.
  std::vector<std::vector<double>> grids;
  std::vector<double> lmax;
  for (Centering c : candidates) {
    if (!o.lambdas.empty()) {
      grids.push_back(o.lambdas);
      lmax.push_back(-1.0);
    } else {
      lmax.push_back(lambda_max_of(data, o, c));
      grids.push_back(log_lambda_grid(lmax.back(), o.lambda_count, o.min_ratio));
    }
  }

  // Cross-validation of every candidate on the same folds.
  std::size_t chosen = 0;
  std::vector<double> final_grid = grids.front();
  if (o.folds > 0) {
    const auto cv0 = std::chrono::steady_clock::now();
    CrossValidationOptions cvo;
    cvo.folds = o.folds;
    cvo.seed = o.seed;
    cvo.patience = o.patience;
    cvo.rise_margin = o.rise_margin;
    cvo.lambda_scaling = o.cv_scaling;
    cvo.screen_margin = o.screen_margin;
    if (o.cv_refine < 0)
      throw InvalidArgument("fit_completion: cv_refine must be >= 0, got " + std::to_string(o.cv_refine));
    cvo.refine = o.cv_refine;
    cvo.progress = o.progress;
    std::vector<PathFitFunction<T>> fits;
    std::vector<std::string> labels;
    // Fold fits only score lambdas: in float when asked (cv_float32).
    const bool in_float = soft && o.cv_float32 && !std::is_same_v<T, float>;
    for (Centering c : candidates) {
      if (in_float)
        fits.push_back(in_float32<T>(
            soft_impute_fit<float>(o, c, solver_events, true, true, static_cast<ObservedEntries<float>*>(nullptr))));
      else fits.push_back(fit_function(c, solver_events, true));
      labels.push_back(candidates.size() > 1 ? std::string("cv [") + to_string(c) + "]" : "cross-validation");
    }
    std::vector<CrossValidationResult<T>> cvs = cross_validate_candidates(data, grids, fits, cvo, labels);
    for (std::size_t c = 0; c < cvs.size(); ++c) {
      const CrossValidationResult<T>& cv = cvs[c];
      out.centering_scores.push_back(centering_score(candidates[c], cv.table, cv.best_index));
    }
    out.cv_seconds = seconds_since(cv0);
    for (std::size_t c = 1; c < cvs.size(); ++c) {
      const auto& a = cvs[c].table[cvs[c].best_index];
      const auto& b = cvs[chosen].table[cvs[chosen].best_index];
      // A candidate whose CV was interrupted competes only on the rows every
      // fold reached, like the rows of one table.
      if (a.folds == o.folds && (a.mean_rmse < b.mean_rmse || b.folds < o.folds)) chosen = c;
    }
    out.centering = candidates[chosen];
    out.lambda_max = lmax[chosen];
    if (cvs.front().status == Status::Interrupted) {
      // Keep the best finished fold fit over every candidate tried.
      std::size_t from = 0, where = 0;
      for (std::size_t c = 1; c < cvs.size(); ++c)
        if (cvs[c].best_fold_model.rows > 0 &&
            (cvs[from].best_fold_model.rows == 0 || cvs[c].best_fold_rmse < cvs[from].best_fold_rmse))
          from = c;
      for (std::size_t c = 0; c < cvs.size(); ++c)
        if (cvs[c].fits > 0 && cvs[c].stopped_fold >= cvs[where].stopped_fold) where = c;
      const CrossValidationResult<T>& cv = cvs[where];
      out.model = cvs[from].best_fold_model;
      out.centering = candidates[from];
      out.lambda = cvs[from].best_fold_lambda;
      out.status = Status::Interrupted;
      out.stop_reason = "interrupted during cross-validation (" + std::string(to_string(candidates[where])) +
                        ", fold " + std::to_string(cv.stopped_fold + 1) + "/" + std::to_string(o.folds) + ", lambda " +
                        std::to_string(cv.stopped_index + 1) + "/" + std::to_string(grids[where].size()) +
                        "): kept the best fold fit so far (validation RMSE " + fmt_g(cvs[from].best_fold_rmse) +
                        ", lambda " + fmt_g(out.lambda) + ", fitted on " + std::to_string(o.folds - 1) + "/" +
                        std::to_string(o.folds) + " of the entries)";
      out.cv = std::move(cvs[from]);
      out.elapsed_s = seconds_since(t0);
      return out;
    }
    out.cv = std::move(cvs[chosen]);
    // The refit runs the grid down to the chosen lambda (a refined one, off
    // the grid, is its last point).
    final_grid.clear();
    for (double v : grids[chosen])
      if (v > out.cv->best_lambda) final_grid.push_back(v);
    final_grid.push_back(out.cv->best_lambda);
    const std::size_t rows = out.cv->table.size();
    if (out.cv->best_index + 1 == rows || (out.cv->best_index == 0 && rows > 1)) {
      out.warnings.push_back("the chosen lambda " + fmt_g(out.cv->best_lambda) + " is at the " +
                             (out.cv->best_index == 0 ? "large" : "small") +
                             " end of the grid: the best lambda may lie beyond it (widen the grid: --min-ratio / "
                             "--lambda-path)");
    }
  } else {
    out.centering = candidates.front();
    out.lambda_max = lmax.front();
  }

  // The refit on all entries at the chosen lambda: the grid down to it, or,
  // for soft-impute after CV when the best fold fit fills the rank cap and
  // lies within one row of the chosen lambda, one fit warm-started from that
  // fold fit (a fit on (K-1)/K of the entries). At the cap the problem is
  // not convex and the path has no better claim: on MovieLens u1 the warm
  // refit takes 21 iterations against 5 + 15 + 32 + 42 for the path, test
  // RMSE 0.92776 against 0.92773 (a cold fit: 0.92769). Below the cap the
  // path's warm starts reach the convex optimum more closely: from the fold
  // fit, FitCompletion.CrossValidatedLambdaIsNearTheOracle's 60 x 50 problem
  // stopped 0.5 % worse in test RMSE than the path at the same lambda (as did
  // a cold fit at the cap, tried before).
  const PathFitFunction<T> fit = fit_function(out.centering, solver_events);
  const CompletionModel<T>* from_fold = nullptr;
  if (soft && out.cv && out.cv->best_fold_model.rows == data.rows && out.cv->best_fold_model.cols == data.cols &&
      out.cv->best_fold_model.rank() >= out.max_rank) {
    const auto& t = out.cv->table;
    for (std::size_t l = 0; l < t.size(); ++l)
      if (t[l].lambda == out.cv->best_fold_lambda && l + 1 >= out.cv->best_index && l <= out.cv->best_index + 1)
        from_fold = &out.cv->best_fold_model;
  }
  if (from_fold) {
    const PathFitFunction<T> warm_fit = [&fit, from_fold](const ObservedEntries<T>& x, double lam,
                                                          const CompletionModel<T>* w) {
      return fit(x, lam, w ? w : from_fold);
    };
    final_grid = {out.cv->best_lambda};
    out.path = fit_path(data, final_grid, warm_fit, false, o.progress);
  } else {
    out.path = fit_path(data, final_grid, fit, false, o.progress);
  }
  PathResult<T>& path = *out.path;
  CompletionModel<T> model = std::move(path.models.back());
  const PathPoint& last = path.points.back();
  out.model = std::move(model);
  out.lambda = last.lambda;
  out.iterations = last.iterations;
  out.objective_trace = {last.objective};
  out.status = path.status == Status::Interrupted ? Status::Interrupted : last.status;
  int rounds = 1;
  // A binding iteration cap must not decide the answer: resume the last fit
  // from its iterate (the path's warm start, continued).
  while (out.status == Status::NotConverging && rounds < o.max_iteration_rounds) {
    CompletionResult<T> r = fit(data, out.lambda, &out.model);
    ++rounds;
    out.iterations += r.iterations;
    out.status = r.status;
    out.model = std::move(r.model);
    if (!r.objective_trace.empty()) out.objective_trace.push_back(r.objective_trace.back());
    path.points.back().iterations = out.iterations;
    path.points.back().status = out.status;
    if (!r.objective_trace.empty()) path.points.back().objective = r.objective_trace.back();
  }
  const int cap = soft ? o.soft_impute.max_iterations : o.als.max_iterations;
  switch (out.status) {
    case Status::Success:
      out.stop_reason = rounds > 1 ? "converged after " + std::to_string(rounds) + " rounds of the " +
                                         std::to_string(cap) + "-iteration cap"
                                   : "converged";
      break;
    case Status::NotConverging:
      out.stop_reason =
          "iteration cap: not converged after " + std::to_string(rounds) + " x " + std::to_string(cap) + " iterations";
      out.caps_bound.push_back("iterations");
      break;
    case Status::Interrupted:
      out.stop_reason = "interrupted during the refit on all entries (lambda " + std::to_string(path.points.size()) +
                        "/" + std::to_string(final_grid.size()) + "): the last iterate";
      break;
    default:
      out.stop_reason = to_string(out.status);
      break;
  }
  if (soft && out.model.rank() >= out.max_rank) out.caps_bound.push_back("rank");
  out.elapsed_s = seconds_since(t0);
  return out;
}

// ---- float32: the fit in single precision, its result back in T ----------

template <class U, class T>
CompletionModel<U> model_as(CompletionModel<T>&& m) {
  return model_cast<U>(std::move(m));
}

template <class U, class T>
CompletionFit<U> fit_as(CompletionFit<T>&& f) {
  CompletionFit<U> out;
  out.model = model_as<U>(std::move(f.model));
  out.method = f.method;
  out.centering = f.centering;
  out.lambda = f.lambda;
  out.lambda_max = f.lambda_max;
  out.max_rank = f.max_rank;
  out.iterations = f.iterations;
  out.objective_trace = std::move(f.objective_trace);
  out.status = f.status;
  out.stop_reason = std::move(f.stop_reason);
  out.caps_bound = std::move(f.caps_bound);
  out.elapsed_s = f.elapsed_s;
  out.cv_seconds = f.cv_seconds;
  if (f.cv) {
    CrossValidationResult<T>& c = *f.cv;
    CrossValidationResult<U>& d = out.cv.emplace();
    d.table = std::move(c.table);
    d.best_lambda = c.best_lambda;
    d.best_index = c.best_index;
    d.status = c.status;
    d.best_fold_model = model_as<U>(std::move(c.best_fold_model));
    d.best_fold_rmse = c.best_fold_rmse;
    d.best_fold_lambda = c.best_fold_lambda;
    d.folds_completed = c.folds_completed;
    d.fits = c.fits;
    d.capped_fits = c.capped_fits;
    d.refined = c.refined;
    d.stopped_fold = c.stopped_fold;
    d.stopped_index = c.stopped_index;
    d.seconds = c.seconds;
    d.screened_out = c.screened_out;
  }
  out.centering_scores = std::move(f.centering_scores);
  if (f.path) {
    PathResult<U>& p = out.path.emplace();
    p.points = std::move(f.path->points);
    for (auto& m : f.path->models) p.models.push_back(model_as<U>(std::move(m)));
    p.status = f.path->status;
  }
  out.clip_threshold = f.clip_threshold;
  out.empty_rows = f.empty_rows;
  out.empty_cols = f.empty_cols;
  out.warnings = std::move(f.warnings);
  return out;
}

// The entries with float values: the index arrays taken from `from` when it
// may be emptied (its values freed page by page as they are converted, so
// the two value arrays never coexist: issue 32), copied otherwise.
template <class T>
ObservedEntries<float> entries_as_float(const ObservedEntries<T>& data, ObservedEntries<T>* from) {
  ObservedEntries<float> f;
  f.rows = data.rows;
  f.cols = data.cols;
  if (from) {
    f.row = std::move(from->row);
    f.col = std::move(from->col);
    completion_detail::convert_releasing(from->value, f.value);
  } else {
    f.value.assign(data.value.begin(), data.value.end());
    f.row = data.row;
    f.col = data.col;
  }
  return f;
}

// The fit of float entries `f` in their own arrays; `own` (when given) gets
// them back afterwards, sorted by row and column, values widened to T.
template <class T>
CompletionFit<T> fit_float_entries(ObservedEntries<float>& f, ObservedEntries<T>* own,
                                   const CompletionFitOptions& options) {
  CompletionFitOptions o = options;
  o.float32 = false;
  CompletionFit<float> r = fit_completion_impl(f, &f, o);
  if (own) {
    own->row = std::move(f.row);
    own->col = std::move(f.col);
    completion_detail::convert_releasing(f.value, own->value);
  }
  return fit_as<T>(std::move(r));
}

template <class T>
CompletionFit<T> fit_completion_float32(const ObservedEntries<T>& data, ObservedEntries<T>* own,
                                        const CompletionFitOptions& options) {
  completion_detail::check_entries(data, "fit_completion");
  ObservedEntries<float> f = entries_as_float(data, own);
  return fit_float_entries(f, own, options);
}

// GAME lives above completion (it needs row groups and its own path options):
// lowrank::fit (lowrank/fit.hpp) dispatches to it.
void refuse_game(const CompletionFitOptions& options) {
  if (options.method == CompletionMethod::Game)
    throw InvalidArgument(
        "fit_completion: method 'game' needs row groups; fit it through lowrank::fit (lowrank/fit.hpp)");
}

}  // namespace

template <class T>
CompletionFit<T> fit_completion(const ObservedEntries<T>& data, const CompletionFitOptions& options) {
  refuse_game(options);
  if (options.float32 && !std::is_same_v<T, float>)
    return fit_completion_float32(data, static_cast<ObservedEntries<T>*>(nullptr), options);
  return fit_completion_impl(data, static_cast<ObservedEntries<T>*>(nullptr), options);
}

template <class T>
CompletionFit<T> fit_completion_in_place(ObservedEntries<T>& data, const CompletionFitOptions& options) {
  refuse_game(options);
  if (options.float32 && !std::is_same_v<T, float>) return fit_completion_float32(data, &data, options);
  return fit_completion_impl(data, &data, options);
}

CompletionFit<double> fit_completion_float32_in_place(ObservedEntries<float>& data, ObservedEntries<double>& back,
                                                      const CompletionFitOptions& options) {
  refuse_game(options);
  completion_detail::check_entries(data, "fit_completion");
  back = ObservedEntries<double>{};
  back.rows = data.rows;
  back.cols = data.cols;
  CompletionFit<double> r = fit_float_entries(data, &back, options);
  back.row_ids = std::move(data.row_ids);
  back.col_ids = std::move(data.col_ids);
  data = ObservedEntries<float>{};
  return r;
}

#define LOWRANK_FIT_COMPLETION(T)                                                                         \
  template struct Biases<T>;                                                                              \
  template Biases<T> fit_biases<T>(const ObservedEntries<T>&, double, int);                               \
  template CompletionFit<T> fit_completion<T>(const ObservedEntries<T>&, const CompletionFitOptions&);    \
  template CompletionFit<T> fit_completion_in_place<T>(ObservedEntries<T>&, const CompletionFitOptions&); \
  template double als_lambda_max<T>(const ObservedEntries<T>&, const AlsOptions&);
LOWRANK_FIT_COMPLETION(float)
LOWRANK_FIT_COMPLETION(double)
#undef LOWRANK_FIT_COMPLETION

}  // namespace lowrank
