// GAME with centring, a warm-started lambda path and k-fold CV (game/path.hpp).
#include "lowrank/game/path.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <cstdio>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

#include <string>

#include "lowrank/completion/convert.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/splits.hpp"
#include "lowrank/linalg/subspace.hpp"

namespace lowrank {

namespace game_detail {

bool FoldStopRule::should_stop(const std::vector<double>& squared) {
  double sum = 0;
  for (const double e : squared) sum += e;
  const double count = static_cast<double>(std::max<std::size_t>(squared.size(), 1));
  const double rmse = std::sqrt(sum / count);
  if (!(first == first)) first = rmse;  // the top of the path's error
  descended = descended || rmse < first * (1 - kDescent);
  if (rmse < best) {
    if (rmse < best * (1 - kRise)) rising = 0;
    best = rmse;
    best_squared = squared;
    return false;
  }
  if (!descended || patience <= 0 || !(rmse > best * (1 + kRise))) return false;
  if (++rising >= patience) return true;
  double m1 = 0, m2 = 0;
  for (std::size_t t = 0; t < squared.size(); ++t) {
    const double d = squared[t] - best_squared[t];
    m1 += d;
    m2 += d * d;
  }
  const double mean = m1 / count, var = std::max(m2 / count - mean * mean, 0.0);
  return squared.size() > 1 && mean > kSignificant * std::sqrt(var / count);
}

}  // namespace game_detail

namespace {

using Clock = std::chrono::steady_clock;

template <class T>
BiScale<T> fit_centering(const ObservedEntries<T>& e) {
  BiScaleOptions b;
  b.row_scale = b.col_scale = false;
  return fit_biscale(e, b);
}

// The offsets that `centering` takes out of e (nullopt for None), in the
// mu + row(i) + col(j) form of completion's Biases whatever the candidate.
template <class T>
std::optional<Biases<T>> fit_offsets(const ObservedEntries<T>& e, Centering centering, const GamePathOptions& o) {
  switch (centering) {
    case Centering::None:
      return std::nullopt;
    case Centering::Biases:
      return fit_biases(e, o.bias_shrinkage, o.bias_sweeps);
    case Centering::Center: {
      BiScale<T> b = fit_centering(e);
      Biases<T> out;
      out.row = std::move(b.row_center);
      out.col = std::move(b.col_center);
      return out;
    }
    default:
      break;
  }
  throw InvalidArgument(std::string("GAME path: centering must be auto, none, biases or center, got ") +
                        to_string(centering));
}

template <class T>
ObservedEntries<T> take_offsets(const std::optional<Biases<T>>& c, const ObservedEntries<T>& e) {
  return c ? c->residuals(e) : e;
}

template <class T>
T offset(const std::optional<Biases<T>>& c, Index i, Index j) {
  return c ? static_cast<T>(c->mu) + c->row(i) + c->col(j) : T(0);
}

// Held-out errors of z (plus the centring) on e; each squared error also
// goes to `squared` when given.
template <class Z, class T>
ErrorMetrics score(const GameResult<Z>& z, const std::optional<Biases<T>>& c, const ObservedEntries<T>& e,
                   std::vector<double>* squared = nullptr) {
  ErrorMetrics m;
  double se = 0, ae = 0;
  if (squared) squared->resize(e.nnz());
  for (std::size_t t = 0; t < e.nnz(); ++t) {
    const double r = static_cast<double>(lowrank::predict(z, e.row[t], e.col[t])) +
                     static_cast<double>(offset(c, e.row[t], e.col[t])) - static_cast<double>(e.value[t]);
    se += r * r;
    ae += std::abs(r);
    if (squared) (*squared)[t] = r * r;
  }
  m.count = e.nnz();
  if (m.count > 0) {
    m.rmse = std::sqrt(se / static_cast<double>(m.count));
    m.mae = ae / static_cast<double>(m.count);
  }
  return m;
}

Index max_group_rank(const auto& result) {
  Index r = 0;
  for (const auto& g : result.groups) r = std::max(r, g.rank());
  return r;
}

// One warm-started descent along `grid`: fits 0..count-1, each started from
// the last; `visit(i, fit)` after each returns false to stop. Returns the last
// fit (or nullopt if none ran).
template <class T, class Visit>
std::optional<GameResult<T>> run_path(const ObservedEntries<T>& data, const RowGroups& groups,
                                      const std::vector<double>& grid, std::size_t first, std::size_t count,
                                      GameOptions o, std::optional<GameResult<T>> last, int& fits, Status& status,
                                      Visit visit) {
  // Exact warm starts of the dual. The factored solver starts from the
  // factors alone, and its certificates are dense |G_k| x n (with two folds
  // in flight, the largest arrays of a factored MovieLens-100k path).
  o.keep_certificates = resolved_game_storage(o) != GameStorage::Factored;
  for (std::size_t i = first; i < count; ++i) {
    o.lambda = grid[i];
    GameResult<T> r = fit_game(data, groups, o, last ? &*last : nullptr);
    ++fits;
    const bool interrupted = r.status == Status::Interrupted;
    last = std::move(r);
    if (interrupted) {
      status = Status::Interrupted;
      break;
    }
    if (!visit(i, *last)) break;
  }
  return last;
}

// Calls f.template operator()<F>() with F the scalar of the CV fits: float
// under cv_float (when T is double), T otherwise.
template <class T, class F>
void with_cv_scalar(const GamePathOptions& p, F&& f) {
  if (p.cv_float && !std::is_same_v<T, float>) f.template operator()<float>();
  else f.template operator()<T>();
}

// Options of the fits that only score a CV fold or warm-start the next
// lambda: the CV tolerance and sweep cap, no final check.
GameOptions cv_fit_options(const GameOptions& fit, const GamePathOptions& p) {
  GameOptions o = fit;
  if (p.cv_tolerance > 0) o.tolerance = std::max(p.cv_tolerance, fit.tolerance);
  o.sweeps_per_iteration = p.cv_sweeps_per_iteration;
  o.final_check = false;
  return o;
}

// The fit on all entries at grid[count - 1]. It first runs in float under
// cv_float, with the fold fits' one-sweep iterations, to a third of the
// caller's tolerance (not below 1e-5, near float's rounding of the
// iterates); the returned fit then polishes that in T with the caller's
// options. With `walk` the lambdas above it run first, as the fold fits do,
// each warm-starting the next (a path without CV, down to its smallest
// lambda); after CV the chosen lambda is fitted from zero, which on
// MovieLens-100k (0.18 lambda_max) took 27 float sweeps at 1e-3 against 56
// for the four lambdas above it. There a double polish from the float fit
// at 1e-3 took 48 sweeps (24 s); from the float fit at 3e-5 it stops after
// one iteration of 4 sweeps (3 s) at the objective (1e-6 relative) and KKT
// residuals (3.3e-4) of a double fit. `visit(i, objective, rank)` after each
// fit.
template <class T, class Visit>
std::optional<GameResult<T>> refit_path(const ObservedEntries<T>& data, const RowGroups& groups,
                                        const std::vector<double>& grid, std::size_t count, bool walk,
                                        const GameOptions& fit, const GamePathOptions& p, int& fits, Status& status,
                                        Visit visit) {
  if (count == 0) return std::nullopt;
  auto report = [&](std::size_t i, const auto& r) {
    visit(i, r.objective, max_group_rank(r));
    return true;
  };
  std::optional<GameResult<T>> warm;
  auto first_stage = [&]<class F>() {
    const ObservedEntries<F> d = data.template cast<F>();
    const GameOptions o = cv_fit_options(fit, p);
    std::optional<GameResult<F>> w;
    if (walk) w = run_path<F>(d, groups, grid, 0, count - 1, o, std::nullopt, fits, status, report);
    GameOptions chosen = o;
    chosen.tolerance = std::min(o.tolerance, std::max(fit.tolerance / 3, 1e-5));
    if (status != Status::Interrupted)
      w = run_path<F>(d, groups, grid, count - 1, count, chosen, std::move(w), fits, status, report);
    if (w) {
      if constexpr (std::is_same_v<F, T>) warm = std::move(*w);
      else warm = w->template cast<T>();
    }
  };
  with_cv_scalar<T>(p, first_stage);
  if (status == Status::Interrupted) return warm;
  return run_path<T>(data, groups, grid, count - 1, count, fit, std::move(warm), fits, status, report);
}

}  // namespace

namespace {

// A rank-0 m x n model carrying the centring's offsets (mu, row, col).
template <class T>
CompletionModel<T> model_shell(Index rows, Index cols, const std::optional<Biases<T>>& offsets) {
  CompletionModel<T> m;
  m.rows = rows;
  m.cols = cols;
  m.U.resize(rows, 0);
  m.d.resize(0);
  m.V.resize(cols, 0);
  if (offsets) {
    m.global_offset = static_cast<T>(offsets->mu);
    m.row_offset = offsets->row;
    m.col_offset = offsets->col;
  }
  return m;
}

}  // namespace

template <class T>
T GamePathFit<T>::predict(Index i, Index j) const {
  return lowrank::predict(result, i, j) + offset(offsets, i, j);
}

template <class T>
CompletionModel<T> GamePathFit<T>::model() const {
  if (!result.has_estimate())
    throw InvalidArgument("GAME model: the fit holds no estimate (interrupted before any iteration)");
  if (result.variant == GameVariant::Latent) {
    // Z = sum_k E_k Z_k: the components are the model's group parts as they
    // are (no m x n array, no refactoring, the same sums as predict()).
    CompletionModel<T> m = model_shell(result.rows, result.cols, offsets);
    for (const GameGroupFit<T>& g : result.groups) m.groups.push_back(static_cast<const LowRankGroupPart<T>&>(g));
    return m;
  }
  // Sum (G1): one Z whose group blocks are low-rank, not a sum of parts; it
  // is saved in SVD form.
  CompletionModel<T> m = game_completion_model(result);
  const CompletionModel<T> shell = model_shell(m.rows, m.cols, offsets);
  m.global_offset = shell.global_offset;
  m.row_offset = shell.row_offset;
  m.col_offset = shell.col_offset;
  return m;
}

template <class T>
std::optional<CrossValidationResult<T>> GamePathFit<T>::cv_result() const {
  if (cv.empty()) return std::nullopt;
  CrossValidationResult<T> r;
  r.table = cv;
  r.best_index = best_index;
  r.best_lambda = grid[best_index];
  r.status = status;
  r.fits = cv_fits;
  r.seconds = cv_seconds;
  for (const CrossValidationRow& row : cv) r.folds_completed = std::max(r.folds_completed, row.folds);
  return r;
}

template <class T>
CompletionFit<T> to_completion_fit(GamePathFit<T>&& fit, const GamePathOptions& options) {
  GameResult<T>& r = fit.result;
  CompletionFit<T> out;
  GameReport<T> rep;
  rep.fitted = r.has_estimate();
  out.method = CompletionMethod::Game;
  out.centering = fit.centering;
  out.lambda = r.lambda;
  out.lambda_max = fit.lambda_max;
  out.max_rank = options.game.max_rank;
  out.iterations = r.iterations;
  out.objective_trace = r.objective_trace;
  out.status = fit.status == Status::Interrupted ? Status::Interrupted : r.status;
  out.stop_reason = fit.stop_reason;
  out.elapsed_s = fit.elapsed_s;
  out.cv_seconds = fit.cv_seconds;
  out.cv = fit.cv_result();
  out.centering_scores = fit.centering_scores;
  out.warnings = r.warnings;
  rep.variant = to_string(r.variant);
  rep.solver = to_string(r.solver);
  rep.storage = r.factored() ? "factored" : "dense";
  rep.weight_scheme = to_string(options.game.weight_scheme);
  rep.global_group = options.game.include_global_group;
  rep.objective = r.objective;
  rep.fits = fit.fits;
  rep.discarded_fits = fit.discarded_fits;
  rep.inner_sweeps = r.inner_sweeps;
  rep.grid = fit.grid;
  rep.weighting = fit.weighting;
  rep.weight_scores = fit.weight_scores;
  rep.kkt = {r.kkt.computed,         r.kkt.max(),           r.kkt.stationarity,
             r.kkt.dual_feasibility, r.kkt.complementarity, r.kkt.consensus};
  for (const GameGroupFit<T>& g : r.groups)
    rep.groups.push_back({g.name, g.size, g.observed, g.weight, g.rank(), effective_rank(g), g.rank_capped});
  if (!rep.fitted) {
    out.model.rows = r.rows;
    out.model.cols = r.cols;
    out.model.U.resize(r.rows, 0);
    out.model.V.resize(r.cols, 0);
  } else if (r.variant == GameVariant::Latent) {
    // the components are the model's group parts: moved, not copied
    out.model = model_shell(r.rows, r.cols, fit.offsets);
    for (GameGroupFit<T>& g : r.groups) out.model.groups.push_back(std::move(static_cast<LowRankGroupPart<T>&>(g)));
  } else {
    out.model = fit.model();
    for (GameGroupFit<T>& g : r.groups) rep.sum_blocks.push_back(std::move(static_cast<LowRankGroupPart<T>&>(g)));
  }
  r.groups.clear();
  out.game = std::move(rep);
  return out;
}

template <class T>
Matrix<T> GamePathFit<T>::completed() const {
  Matrix<T> z = game_dense_estimate(result);
  if (offsets) {
    z.array() += static_cast<T>(offsets->mu);
    z.colwise() += offsets->row;
    z.rowwise() += offsets->col.transpose();
  }
  return z;
}

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <class T>
void check_path_options(const ObservedEntries<T>& entries, const GamePathOptions& options) {
  if (options.lambdas < 1) throw InvalidArgument("GAME path: lambdas must be >= 1");
  if (!(options.min_ratio > 0 && options.min_ratio < 1))
    throw InvalidArgument("GAME path: min_ratio must be in (0, 1), got " + std::to_string(options.min_ratio));
  if (options.folds == 1 || options.folds < 0) throw InvalidArgument("GAME path: folds must be 0 or >= 2");
  if (options.folds > 0 && static_cast<std::size_t>(options.folds) > entries.nnz())
    throw InvalidArgument("GAME path: " + std::to_string(options.folds) + " folds for " +
                          std::to_string(entries.nnz()) + " entries");
  if (options.patience < 0) throw InvalidArgument("GAME path: patience must be >= 0");
  if (options.cv_tolerance < 0 || !std::isfinite(options.cv_tolerance))
    throw InvalidArgument("GAME path: cv_tolerance must be >= 0 (0 = the fit's tolerance)");
  if (options.cv_sweeps_per_iteration < 0)
    throw InvalidArgument("GAME path: cv_sweeps_per_iteration must be >= 0 (0 = solve every prox)");
}

// Why a fit on all entries stopped, in the words of CompletionFit::stop_reason.
template <class T>
std::string fit_stop_reason(const GameResult<T>& r, const GameOptions& o) {
  switch (r.status) {
    case Status::Success:
      return "converged";
    case Status::NotConverging:
      return "iteration cap " + std::to_string(o.max_iterations) + ": not converged";
    case Status::Interrupted:
      return "interrupted during the refit on all entries (its last iterate)";
    default:
      return to_string(r.status);
  }
}

// The best fold fit so far, kept in the fold fits' scalar and cast once at
// the end: what a Ctrl-C during cross-validation returns when no refit on
// all entries has started, as fit_completion does
// (CrossValidationResult::best_fold_model). The CV loop decides which fit
// is best (the lowest validation RMSE of a finished fit; an interrupted
// iterate only while none is held) and stores it under its lock
// (CvPathFitter::keep_as_best). Without certificates, so it costs one set of
// group factors (or one dense block set for Dense storage).
template <class T>
class BestFoldFit {
 public:
  template <class F>
  void store(const GameResult<F>& r, bool finished, std::size_t fold, std::size_t index,
             const std::optional<Biases<T>>& offsets) {
    if constexpr (std::is_same_v<F, T>) {
      as_t_ = r.template cast<T>(false);
      as_float_.reset();
    } else {
      as_float_ = r.template cast<float>(false);
      as_t_.reset();
    }
    finished_ = finished;
    fold_ = fold;
    index_ = index;
    offsets_ = offsets;
  }
  bool held() const { return as_t_.has_value() || as_float_.has_value(); }
  bool finished() const { return finished_; }
  std::size_t fold() const { return fold_; }
  std::size_t index() const { return index_; }
  // Moves the fit and its fold's offsets into `out`.
  void move_into(GamePathFit<T>& out) {
    if (as_t_) out.result = std::move(*as_t_);
    else if (as_float_) out.result = as_float_->template cast<T>();
    out.offsets = std::move(offsets_);
    as_t_.reset();
    as_float_.reset();
  }

 private:
  bool finished_ = false;
  std::size_t fold_ = 0, index_ = 0;
  std::optional<GameResult<float>> as_float_;
  std::optional<GameResult<T>> as_t_;
  std::optional<Biases<T>> offsets_;
};

// A GAME path with one centring (Auto resolved): the centred data, the grid,
// the k-fold CV with its speculative refit, and the refit on all entries.
// Its pieces share the data, the options and one event lock, so they are
// members.
template <class T>
class CentredPath {
 public:
  CentredPath(const ObservedEntries<T>& entries, const RowGroups& groups, const GamePathOptions& options,
              Centering centering)
      : entries_(entries), groups_(groups), options_(options), t0_(Clock::now()) {
    check_path_options(entries, options);
    fit_options_ = options.game;
    // Every fit's own progress goes through the same lock, stamped with the
    // path's clock (each fit's would restart at 0 in every fold and refit).
    if (fit_options_.progress) {
      fit_options_.progress = [this](const ProgressEvent& e) {
        const std::lock_guard<std::mutex> lock(event_mutex_);
        ProgressEvent ev = e;
        ev.elapsed_s = seconds_since(t0_);
        options_.game.progress(ev);
      };
    }
    out_.centering = centering;
    out_.offsets = fit_offsets(entries, centering, options);
    data_ = take_offsets(out_.offsets, entries);
  }

  // `refit` false: CV only (grid, table, best index, fits), no fit on all
  // entries. `done_cv`: the CV of an earlier run with the same centring,
  // whose folds are not run again.
  GamePathFit<T> run(bool refit, const GamePathFit<T>* done_cv) {
    if (options_.lambda) return fixed_lambda();
    out_.lambda_max = game_lambda_max(data_, groups_, options_.game);
    if (!(out_.lambda_max > 0)) throw InvalidArgument("GAME path: lambda_max is 0 (all centred entries are zero)");
    out_.grid = log_lambda_grid(out_.lambda_max, options_.lambdas, options_.min_ratio);
    std::size_t final_count = out_.grid.size();
    if (done_cv) {
      out_.cv = done_cv->cv;
      out_.best_index = done_cv->best_index;
      out_.fits = done_cv->fits;
      out_.cv_fits = done_cv->cv_fits;
      out_.cv_seconds = done_cv->cv_seconds;
      final_count = out_.best_index + 1;
    } else if (options_.folds > 0) {
      cross_validate(refit);
      out_.cv_seconds = seconds_since(t0_);
      final_count = out_.best_index + 1;
      if (!refit && out_.status != Status::Interrupted) return finish();
      if (out_.status == Status::Interrupted || speculative_status_ == Status::Interrupted) return keep_on_interrupt();
      if (speculative_ && speculative_index_ == out_.best_index) {
        out_.fits += speculative_fits_;
        out_.result = std::move(*speculative_);
        out_.stop_reason = fit_stop_reason(out_.result, fit_options_);
        return finish();
      }
      out_.discarded_fits = speculative_fits_;
    }
    refit_on_all(final_count);
    return finish();
  }

 private:
  GamePathFit<T> finish() {
    out_.elapsed_s = seconds_since(t0_);
    return std::move(out_);
  }

  void event(std::string_view stage, int iteration, double objective, Index rank) {
    if (!options_.progress) return;
    const std::lock_guard<std::mutex> lock(event_mutex_);
    ProgressEvent ev;
    ev.stage = stage;
    ev.iteration = iteration;
    ev.objective = objective;
    ev.rank = static_cast<int>(rank);
    ev.elapsed_s = seconds_since(t0_);
    options_.progress(ev);
  }

  GamePathFit<T> fixed_lambda() {
    GameOptions o = fit_options_;
    o.lambda = *options_.lambda;
    out_.grid = {*options_.lambda};
    out_.lambda_max = game_lambda_max(data_, groups_, o);
    out_.result = fit_game(data_, groups_, o);
    out_.fits = 1;
    out_.status = out_.result.status == Status::Interrupted ? Status::Interrupted : Status::Success;
    out_.stop_reason = fit_stop_reason(out_.result, o);
    return finish();
  }

  // The fit on all entries along the grid down to grid[count - 1]: walking
  // the lambdas above it without CV, from zero after CV (refit_path).
  void refit_on_all(std::size_t count) {
    auto last = refit_path<T>(data_, groups_, out_.grid, count, options_.folds == 0, fit_options_, options_, out_.fits,
                              out_.status, [&](std::size_t i, double objective, Index rank) {
                                event("game-path", static_cast<int>(i + 1), objective, rank);
                              });
    if (last) {
      out_.result = std::move(*last);
      out_.stop_reason = fit_stop_reason(out_.result, fit_options_);
    }
    if (options_.folds == 0) out_.best_index = out_.grid.size() - 1;
  }

  // One fold's path for completion's CV loop (cross_validate_paths), in
  // scalar F (float under cv_float): the fold's offsets fitted on its
  // training part, each fit warm-started from the last (iterate and dual
  // certificates), scored in T on the held-out part with the offsets, and
  // stopped by FoldStopRule (its own rule: the paired test needs the
  // held-out squared errors).
  template <class F>
  class FoldFitter final : public CvPathFitter<T> {
   public:
    FoldFitter(CentredPath& path, std::size_t fold, const CvFold<T>& data, int patience)
        : path_(path),
          fold_(fold),
          test_(data.test),
          offsets_(fit_offsets(data.train, path.out_.centering, path.options_)),
          train_(take_offsets(offsets_, data.train).template cast<F>()),
          stop_(patience) {}

    CvFitScore fit(std::size_t index, double lambda) override {
      GameOptions o = path_.fold_options_;
      o.lambda = lambda;
      GameResult<F> r = fit_game(train_, path_.groups_, o, last_ ? &*last_ : nullptr);
      last_ = std::move(r);
      index_ = index;
      CvFitScore s;
      s.status = last_->status;
      s.rank = static_cast<double>(max_group_rank(*last_));
      finished_ = last_->status != Status::Interrupted;
      if (!finished_) {  // a last iterate: not scored
        s.finished = false;
        s.keepable = last_->has_estimate();
        return s;
      }
      const ErrorMetrics m = score(*last_, offsets_, test_, &squared_);
      s.rmse = m.rmse;
      s.mae = m.mae;
      path_.event("game-cv", static_cast<int>(fold_ * path_.out_.grid.size() + index + 1), m.rmse,
                  max_group_rank(*last_));
      s.stop = stop_.should_stop(squared_);
      return s;
    }
    void keep_as_best() override { path_.best_fold_.store(*last_, finished_, fold_, index_, offsets_); }
    bool own_stop_rule() const override { return true; }

   private:
    CentredPath& path_;
    const std::size_t fold_;
    const ObservedEntries<T>& test_;
    const std::optional<Biases<T>> offsets_;
    const ObservedEntries<F> train_;
    game_detail::FoldStopRule stop_;
    std::optional<GameResult<F>> last_;
    std::vector<double> squared_;
    std::size_t index_ = 0;
    bool finished_ = false;
  };

  // The refit on all entries at the lambda the folds finished so far choose,
  // run beside the folds (CrossValidationOptions::side_task): otherwise a
  // thread idles while the last folds finish (on MovieLens-100k the refit
  // ran ~10 s alone at the end of the path). The refit's walk depends only
  // on the data and the grid, so when all folds choose the same lambda it is
  // the serial refit bit for bit; when they do not, it is discarded and the
  // refit runs again, so the result never depends on the threads.
  void run_speculative_refit(const std::function<std::optional<std::size_t>()>& chosen_so_far) {
    const std::optional<std::size_t> index = chosen_so_far();
    if (!index) return;  // more threads than folds: nothing to go on yet
    speculative_index_ = *index;
    speculative_ =
        refit_path<T>(data_, groups_, out_.grid, speculative_index_ + 1, false, fit_options_, options_,
                      speculative_fits_, speculative_status_, [&](std::size_t i, double objective, Index rank) {
                        event("game-path", static_cast<int>(i + 1), objective, rank);
                      });
  }

  // k-fold CV over the grid through completion's one CV loop: the table, its
  // best index, the fold fits. With several OpenMP threads the folds run in
  // parallel beside the speculative refit (parallel_folds, side_task).
  void cross_validate(bool refit) {
    fold_options_ = cv_fit_options(fit_options_, options_);
    fold_options_.allow_unobserved_groups = true;  // a small group may lose all its entries to a fold
    // exact warm starts of the dual, as run_path's
    fold_options_.keep_certificates = fold_options_.storage != GameStorage::Factored;
    CrossValidationOptions cvo;
    cvo.folds = options_.folds;
    cvo.seed = options_.seed;
    cvo.lambda_scaling = options_.lambda_scaling;
    cvo.patience = options_.patience;  // read by the fitters' FoldStopRule
    cvo.screen_margin = -1;            // one candidate per call (Auto runs them one after the other)
    cvo.parallel_folds = true;
    if (refit) cvo.side_task = [this](const auto& chosen_so_far) { run_speculative_refit(chosen_so_far); };
    const CvFitterFactory<T> fitter = [this, patience = cvo.patience](std::size_t f, const CvFold<T>& fold) {
      std::unique_ptr<CvPathFitter<T>> p;
      with_cv_scalar<T>(options_, [&]<class F>() { p = std::make_unique<FoldFitter<F>>(*this, f, fold, patience); });
      return p;
    };
    cv_ = std::move(cross_validate_paths<T>(entries_, {out_.grid}, {fitter}, cvo).front());
    out_.fits += cv_.fits;
    out_.cv_fits += cv_.fits;
    if (cv_.status == Status::Interrupted) out_.status = Status::Interrupted;
    out_.cv = cv_.table;
    out_.best_index = cv_.best_index;
  }

  // Ctrl-C during CV: keep the fit on all entries that the speculative refit
  // got to (at the lambda the folds finished by then chose; its last iterate
  // if it was itself interrupted), else the best finished fold fit, else
  // the first fit's interrupted iterate (BestFoldFit).
  GamePathFit<T> keep_on_interrupt() {
    out_.status = Status::Interrupted;
    std::string reason = "interrupted during cross-validation";
    const std::size_t K = static_cast<std::size_t>(options_.folds);
    if (cv_.status == Status::Interrupted)
      reason += ", fold " + std::to_string(cv_.stopped_fold + 1) + "/" + std::to_string(K) + " at lambda " +
                std::to_string(cv_.stopped_index + 1) + "/" + std::to_string(out_.grid.size());
    if (speculative_) {
      out_.fits += speculative_fits_;
      out_.best_index = speculative_index_;
      out_.result = std::move(*speculative_);
      reason += ": the refit on all entries at the lambda the finished folds chose";
      if (speculative_status_ == Status::Interrupted) reason += " (its last iterate)";
    } else if (best_fold_.held()) {
      const bool finished = best_fold_.finished();
      const std::size_t fold = best_fold_.fold(), index = best_fold_.index();
      best_fold_.move_into(out_);
      if (finished) {
        out_.best_index = index;
        reason += ": the best fold fit so far (fold " + std::to_string(fold + 1) + ", lambda " +
                  std::to_string(index + 1) + ", fitted on " + std::to_string(K - 1) + "/" + std::to_string(K) +
                  " of the entries)";
      } else {
        reason += ": no fit had finished; the first fit's interrupted iterate (fold " + std::to_string(fold + 1) + ")";
      }
    } else {
      reason += ": no fit to keep";
    }
    out_.stop_reason = std::move(reason);
    return finish();
  }

  const ObservedEntries<T>& entries_;
  const RowGroups& groups_;
  const GamePathOptions& options_;
  const Clock::time_point t0_;
  std::mutex event_mutex_;  // folds may report from several threads
  GameOptions fit_options_;
  GamePathFit<T> out_;
  ObservedEntries<T> data_;  // entries minus the centring's offsets

  // cross-validation
  GameOptions fold_options_;
  CrossValidationResult<T> cv_;
  BestFoldFit<T> best_fold_;
  std::optional<GameResult<T>> speculative_;
  std::size_t speculative_index_ = 0;
  int speculative_fits_ = 0;
  Status speculative_status_ = Status::Success;
};

template <class T>
GamePathFit<T> fit_game_path_centred(const ObservedEntries<T>& entries, const RowGroups& groups,
                                     const GamePathOptions& options, Centering centering, bool refit,
                                     const GamePathFit<T>* done_cv) {
  CentredPath<T> path(entries, groups, options, centering);
  return path.run(refit, done_cv);
}

// The path with the weights of options.game (no weight search).
template <class T>
GamePathFit<T> fit_game_path_given_weights(const ObservedEntries<T>& entries, const RowGroups& groups,
                                           const GamePathOptions& options) {
  const auto t0 = Clock::now();
  if (options.centering == Centering::Scale)
    throw InvalidArgument("GAME path: centering 'scale' is not supported (use auto, none, biases or center)");
  if (!(options.bias_shrinkage >= 0) || !std::isfinite(options.bias_shrinkage))
    throw InvalidArgument("GAME path: bias_shrinkage must be finite and >= 0");
  if (options.bias_sweeps < 1) throw InvalidArgument("GAME path: bias_sweeps must be >= 1");
  if (options.centering != Centering::Auto)
    return fit_game_path_centred<T>(entries, groups, options, options.centering, true, nullptr);
  if (options.lambda || options.folds == 0)
    return fit_game_path_centred<T>(entries, groups, options, Centering::Center, true, nullptr);

  // Auto with CV (issue 35; completion/fit.hpp does the same for soft-impute):
  // None and Biases on the same folds. The last candidate runs the whole
  // path, so its speculative refit overlaps its folds as usual and is kept
  // when it wins; an earlier winner is refitted from its CV table.
  const Centering candidates[] = {Centering::None, Centering::Biases};
  std::vector<GamePathFit<T>> cvs;
  std::size_t best = 0;
  double best_rmse = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < std::size(candidates); ++c) {
    const bool last = c + 1 == std::size(candidates);
    cvs.push_back(fit_game_path_centred<T>(entries, groups, options, candidates[c], last, nullptr));
    const GamePathFit<T>& f = cvs.back();
    if (f.cv.empty()) break;
    const double rmse = f.cv[f.best_index].mean_rmse;
    if (rmse < best_rmse) {
      best_rmse = rmse;
      best = c;
    }
    if (f.status == Status::Interrupted) break;
  }
  std::vector<CenteringScore> scores;
  int cv_fits = 0;
  for (std::size_t c = 0; c < cvs.size(); ++c) {
    const GamePathFit<T>& f = cvs[c];
    if (f.cv.empty()) continue;
    scores.push_back(centering_score(candidates[c], f.cv, f.best_index));
    if (c != best) cv_fits += f.fits;
  }
  int cv_fits_all = 0;
  double cv_seconds_all = 0;
  for (const GamePathFit<T>& f : cvs) {
    cv_fits_all += f.cv_fits;
    cv_seconds_all += f.cv_seconds;
  }
  GamePathFit<T> out;
  if (cvs.back().status == Status::Interrupted || best + 1 == cvs.size()) {
    // The last candidate won (its refit is done), or Ctrl-C: keep what the
    // last candidate's path kept (its speculative refit, or nothing).
    out = std::move(cvs.back());
  } else {
    out = fit_game_path_centred<T>(entries, groups, options, candidates[best], true, &cvs[best]);
  }
  out.fits += cv_fits;
  out.cv_fits = cv_fits_all;
  out.cv_seconds = cv_seconds_all;
  out.centering_scores = std::move(scores);
  out.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

double best_cv_rmse(const std::vector<CrossValidationRow>& cv, std::size_t best) {
  return best < cv.size() ? cv[best].mean_rmse : std::numeric_limits<double>::quiet_NaN();
}

// GameWeightSearch (issue 35): the given weights through the whole path
// (which resolves the centring), then each candidate's CV only, on the same
// folds (same seed) and with that centring, so the comparison is paired;
// the winner, when not the first, is refitted from its CV table.
template <class T>
class WeightSearch {
 public:
  WeightSearch(const ObservedEntries<T>& entries, const RowGroups& groups, const GamePathOptions& options)
      : entries_(entries), groups_(groups), options_(options) {}

  GamePathFit<T> run() {
    const auto t0 = Clock::now();
    if (options_.lambda || options_.folds == 0)
      throw InvalidArgument("GAME path: a weight search needs cross-validation (folds > 0 and no fixed lambda)");
    if (options_.weight_search == GameWeightSearch::PerGroup) {
      if (options_.weight_multipliers.empty())
        throw InvalidArgument("GAME path: the per-group weight search needs at least one weight multiplier");
      for (double c : options_.weight_multipliers)
        if (!std::isfinite(c) || c <= 0 || c == 1.0)
          throw InvalidArgument("GAME path: weight multiplier " + std::to_string(c) + " must be finite, > 0 and not 1");
    }
    first_ = fit_game_path_given_weights<T>(entries_, groups_, options_);
    best_options_ = options_;
    best_options_.centering = first_.centering;
    best_rmse_ = best_cv_rmse(first_.cv, first_.best_index);
    best_name_ = options_.game.weights.empty() ? to_string(options_.game.weight_scheme) : "given";
    record(best_name_, options_.game, first_);
    if (first_.status != Status::Interrupted && !first_.cv.empty()) {
      if (options_.weight_search == GameWeightSearch::Schemes) schemes();
      else per_group();
    }
    GamePathFit<T> out;
    if (interrupted_ || !best_cv_) {
      out = std::move(first_);
      if (interrupted_) {
        out.status = Status::Interrupted;
        out.stop_reason = "interrupted during the weight search: the given weights' fit (" + out.stop_reason + ")";
      }
    } else {
      out = fit_game_path_centred<T>(entries_, groups_, best_options_, best_options_.centering, true, &*best_cv_);
      out.centering_scores = first_.centering_scores;
      out.fits += first_.fits - best_cv_->fits;  // the winner's CV fits are in extra_fits_ too
      out.discarded_fits += first_.discarded_fits;
    }
    out.fits += extra_fits_;
    out.cv_fits = first_.cv_fits + extra_cv_fits_;
    out.cv_seconds = first_.cv_seconds + extra_cv_seconds_;
    out.weighting = interrupted_ || !best_cv_ ? scores_.front().candidate : best_name_;
    out.weight_scores = std::move(scores_);
    out.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    return out;
  }

 private:
  void record(const std::string& name, const GameOptions& game, const GamePathFit<T>& f) {
    GameWeightScore s;
    s.candidate = name;
    s.weights = game_weights(entries_.rows, entries_.cols, groups_, game);
    s.cv_rmse = best_cv_rmse(f.cv, f.best_index);
    s.lambda =
        f.best_index < f.grid.size() && !f.cv.empty() ? f.grid[f.best_index] : std::numeric_limits<double>::quiet_NaN();
    scores_.push_back(std::move(s));
  }

  // CV of one candidate; true when it beat the best so far (it becomes the best).
  bool try_candidate(const std::string& name, const GamePathOptions& cand) {
    if (interrupted_) return false;
    GamePathFit<T> f = fit_game_path_centred<T>(entries_, groups_, cand, cand.centering, false, nullptr);
    extra_fits_ += f.fits;
    extra_cv_fits_ += f.cv_fits;
    extra_cv_seconds_ += f.cv_seconds;
    record(name, cand.game, f);
    if (f.status == Status::Interrupted) {
      interrupted_ = true;
      return false;
    }
    const double rmse = scores_.back().cv_rmse;
    if (!(rmse < best_rmse_)) return false;
    best_rmse_ = rmse;
    best_name_ = name;
    best_options_ = cand;
    best_cv_ = std::move(f);
    return true;
  }

  GamePathOptions candidate(std::vector<double> weights) const {
    GamePathOptions c = best_options_;
    c.game.global_weight.reset();
    if (c.game.include_global_group) {
      c.game.global_weight = weights.back();
      weights.pop_back();
    }
    c.game.weights = std::move(weights);
    return c;
  }

  void schemes() {
    const GamePathOptions given = best_options_;
    for (GameWeightScheme s :
         {GameWeightScheme::SqrtSizePlusSqrtCols, GameWeightScheme::SqrtSize, GameWeightScheme::Uniform}) {
      if (given.game.weights.empty() && s == given.game.weight_scheme) continue;
      GamePathOptions c = given;
      c.game.weights.clear();
      c.game.global_weight.reset();
      c.game.weight_scheme = s;
      try_candidate(to_string(s), c);
    }
    // sampling-aware weights on top of the given scheme
    try_candidate("sampled", [&] {
      GamePathOptions c = given;
      c.game.weights.clear();
      c.game.global_weight.reset();
      const std::vector<double> w = game_sampled_weights(entries_, groups_, c.game);
      GamePathOptions out = c;
      if (out.game.include_global_group) {
        out.game.global_weight = w.back();
        out.game.weights.assign(w.begin(), w.end() - 1);
      } else {
        out.game.weights = w;
      }
      return out;
    }());
  }

  void per_group() {
    std::vector<double> w = game_weights(entries_.rows, entries_.cols, groups_, options_.game);
    std::string changes;
    for (std::size_t k = 0; k < groups_.size() && !interrupted_; ++k) {
      const std::vector<double> base = w;
      const std::string base_changes = changes;
      for (double c : options_.weight_multipliers) {
        std::vector<double> cand = base;
        cand[k] *= c;
        const std::string name =
            (base_changes.empty() ? "" : base_changes + ", ") + groups_.names[k] + " x" + fmt_multiplier(c);
        if (try_candidate(name, candidate(cand))) {
          w = cand;
          changes = name;
        }
      }
    }
  }

  static std::string fmt_multiplier(double c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", c);
    return buf;
  }

  const ObservedEntries<T>& entries_;
  const RowGroups& groups_;
  const GamePathOptions& options_;
  GamePathFit<T> first_;
  GamePathOptions best_options_;
  std::optional<GamePathFit<T>> best_cv_;
  double best_rmse_ = std::numeric_limits<double>::infinity();
  std::string best_name_;
  std::vector<GameWeightScore> scores_;
  int extra_fits_ = 0, extra_cv_fits_ = 0;
  double extra_cv_seconds_ = 0;
  bool interrupted_ = false;
};

}  // namespace

const char* to_string(GameWeightSearch s) noexcept {
  switch (s) {
    case GameWeightSearch::None:
      return "none";
    case GameWeightSearch::Schemes:
      return "schemes";
    case GameWeightSearch::PerGroup:
      return "per-group";
  }
  return "none";
}

GameWeightSearch parse_game_weight_search(std::string_view name) {
  if (name == "none") return GameWeightSearch::None;
  if (name == "schemes") return GameWeightSearch::Schemes;
  if (name == "per-group") return GameWeightSearch::PerGroup;
  throw InvalidArgument("unknown GAME weight search '" + std::string(name) + "' (expected none, schemes or per-group)");
}

template <class T>
std::vector<double> game_sampled_weights(const ObservedEntries<T>& entries, const RowGroups& groups,
                                         const GameOptions& options) {
  GameOptions scheme = options;
  scheme.weights.clear();
  scheme.global_weight.reset();
  std::vector<double> w = game_weights(entries.rows, entries.cols, groups, scheme);
  std::vector<double> per_row(static_cast<std::size_t>(entries.rows), 0.0);
  for (std::int32_t i : entries.row)
    if (i >= 0 && i < entries.rows) per_row[static_cast<std::size_t>(i)] += 1.0;
  const double p = std::max(entries.density(), 1.0 / (static_cast<double>(entries.rows) * entries.cols));
  for (std::size_t k = 0; k < groups.size(); ++k) {
    double observed = 0;
    for (std::int32_t i : groups.rows[k])
      if (i >= 0 && i < entries.rows) observed += per_row[static_cast<std::size_t>(i)];
    const double cells = static_cast<double>(groups.rows[k].size()) * static_cast<double>(entries.cols);
    const double pk = std::max(observed, 1.0) / std::max(cells, 1.0);
    w[k] *= std::sqrt(pk / p);
  }
  return w;
}

template <class T>
GamePathFit<T> fit_game_path(const ObservedEntries<T>& entries, const RowGroups& groups,
                             const GamePathOptions& options) {
  if (options.weight_search == GameWeightSearch::None) return fit_game_path_given_weights<T>(entries, groups, options);
  return WeightSearch<T>(entries, groups, options).run();
}

ProgressCallback game_path_progress(const GamePathOptions& options, ProgressCallback sink) {
  if (!sink) return {};
  struct State {
    int done = 0;
    int refit = 0;
    std::string text;
    Clock::time_point t0 = Clock::now();
  };
  auto st = std::make_shared<State>();
  const int lambdas = std::max(1, options.lambdas), folds = std::max(0, options.folds);
  // Auto runs the whole CV twice (none, biases) when there is CV
  const int candidates = options.centering == Centering::Auto && folds > 0 && !options.lambda ? 2 : 1;
  // a weight search runs an unknown number of candidates (0: no total)
  const int total = options.weight_search == GameWeightSearch::None ? candidates * folds * lambdas : 0;
  // the path calls its progress under one lock, so the state needs none
  return [st, sink = std::move(sink), lambdas, folds, total](const ProgressEvent& e) {
    ProgressEvent ev = e;
    ev.elapsed_s = std::chrono::duration<double>(Clock::now() - st->t0).count();
    char buf[200];
    if (e.stage == "game-cv") {
      ++st->done;
      const int fold = (e.iteration - 1) / lambdas + 1, lambda = (e.iteration - 1) % lambdas + 1;
      const double left = ev.elapsed_s / st->done * std::max(0, total - st->done);
      if (total > 0)
        std::snprintf(buf, sizeof buf, "game-cv fold %d/%d, lambda %d/%d (%d of at most %d fold fits, ~%.0f s left)",
                      fold, folds, lambda, lambdas, st->done, total, left);
      else
        std::snprintf(buf, sizeof buf, "game-cv fold %d/%d, lambda %d/%d (%d fold fits, weight search)", fold, folds,
                      lambda, lambdas, st->done);
      ev.iteration = st->done;
    } else if (e.stage == "game-path") {
      ++st->refit;
      std::snprintf(buf, sizeof buf, "game-path lambda %d/%d (fit on all entries)", e.iteration, lambdas);
    } else {
      return;  // a fit's own iterations
    }
    st->text = buf;
    ev.stage = st->text;
    sink(ev);
  };
}

template <class T>
CompletionModel<T> game_completion_model(const GameResult<T>& r) {
  if (!r.factored()) {
    Index rank_bound = 0;
    for (const auto& g : r.groups) rank_bound += g.rank();
    return model_from_dense(r.estimate, std::min<Index>(rank_bound, std::min(r.estimate.rows(), r.estimate.cols())));
  }
  // Factored: the group parts as a model, folded into one SVD.
  CompletionModel<T> model;
  model.rows = r.rows;
  model.cols = r.cols;
  model.U.resize(r.rows, 0);
  model.d.resize(0);
  model.V.resize(r.cols, 0);
  for (const GameGroupFit<T>& g : r.groups) model.groups.push_back(static_cast<const LowRankGroupPart<T>&>(g));
  return collapse_groups(model);
}

// The errors over all entries and over each group's rows (entries of rows
// outside every group count in `overall` only); `score` maps a set of
// entries to its errors (a GAME result with its offsets, or a model).
template <class T, class Score>
GameGroupErrors<T> group_errors(Index rows, Index cols, const RowGroups& groups, const ObservedEntries<T>& entries,
                                const Score& score) {
  GameGroupErrors<T> out;
  out.overall = score(entries);
  std::vector<std::vector<std::size_t>> by_row(static_cast<std::size_t>(rows));
  for (std::size_t t = 0; t < entries.nnz(); ++t) {
    const auto i = static_cast<std::size_t>(entries.row[t]);
    if (i >= by_row.size() || entries.col[t] < 0 || entries.col[t] >= cols)
      throw InvalidArgument("GAME errors: entry " + std::to_string(t) + " is outside the fitted matrix");
    by_row[i].push_back(t);
  }
  for (std::size_t k = 0; k < groups.size(); ++k) {
    std::vector<std::size_t> pos;
    for (auto i : groups.rows[k])
      if (i >= 0 && static_cast<std::size_t>(i) < by_row.size())
        pos.insert(pos.end(), by_row[static_cast<std::size_t>(i)].begin(), by_row[static_cast<std::size_t>(i)].end());
    out.groups.push_back(score(entries.subset(pos)));
  }
  return out;
}

template <class T>
GameGroupErrors<T> game_group_errors(const GamePathFit<T>& fit, const RowGroups& groups,
                                     const ObservedEntries<T>& entries) {
  if (!fit.result.has_estimate())
    throw InvalidArgument(
        "GAME errors: the fit holds no estimate (interrupted before any fit on all the entries finished)");
  return group_errors(fit.result.rows, fit.result.cols, groups, entries,
                      [&](const ObservedEntries<T>& e) { return score(fit.result, fit.offsets, e); });
}

template <class T>
GameGroupErrors<T> game_group_errors(const CompletionModel<T>& model, const RowGroups& groups,
                                     const ObservedEntries<T>& entries) {
  return group_errors(model.rows, model.cols, groups, entries,
                      [&](const ObservedEntries<T>& e) { return evaluate(model, e); });
}

template <class T>
Index effective_rank(const GameGroupFit<T>& group, double relative_tol) {
  if (group.d.size() == 0 || !(group.d(0) > T(0))) return 0;
  Index r = 0;
  for (Index i = 0; i < group.d.size(); ++i)
    if (static_cast<double>(group.d(i)) > relative_tol * static_cast<double>(group.d(0))) ++r;
  return r;
}

template <class T>
Vector<T> group_subspace_angles(const GameGroupFit<T>& group, const Matrix<T>& reference) {
  if (group.rank() == 0 || reference.cols() == 0) return Vector<T>();
  if (reference.rows() != group.V.rows())
    throw InvalidArgument("GAME subspace angles: reference has " + std::to_string(reference.rows()) +
                          " rows, the group's V has " + std::to_string(group.V.rows()));
  const Index r = std::min(group.rank(), reference.cols());
  return principal_angles<T>(group.V.leftCols(r), reference);
}

#define LOWRANK_GAME_PATH(T)                                                                                          \
  template struct GamePathFit<T>;                                                                                     \
  template GamePathFit<T> fit_game_path(const ObservedEntries<T>&, const RowGroups&, const GamePathOptions&);         \
  template std::vector<double> game_sampled_weights(const ObservedEntries<T>&, const RowGroups&, const GameOptions&); \
  template CompletionModel<T> game_completion_model(const GameResult<T>&);                                            \
  template GameGroupErrors<T> game_group_errors(const GamePathFit<T>&, const RowGroups&, const ObservedEntries<T>&);  \
  template GameGroupErrors<T> game_group_errors(const CompletionModel<T>&, const RowGroups&,                          \
                                                const ObservedEntries<T>&);                                           \
  template CompletionFit<T> to_completion_fit(GamePathFit<T>&&, const GamePathOptions&);                              \
  template Index effective_rank(const GameGroupFit<T>&, double);                                                      \
  template Vector<T> group_subspace_angles(const GameGroupFit<T>&, const Matrix<T>&);
LOWRANK_GAME_PATH(float)
LOWRANK_GAME_PATH(double)
#undef LOWRANK_GAME_PATH

}  // namespace lowrank
