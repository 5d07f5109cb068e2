// GAME with centring, a warm-started lambda path and k-fold CV (game/path.hpp).
#include "lowrank/game/path.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <exception>
#include <iterator>
#include <cstdio>
#include <memory>
#include <mutex>
#include <type_traits>

#include <omp.h>

#include "lowrank/core/detail/serial_blas.hpp"
#include "lowrank/completion/convert.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/splits.hpp"
#include "lowrank/linalg/subspace.hpp"

namespace lowrank {

namespace game_detail {

// Validation metrics of one fold at the lambdas its path reached.
struct FoldTrace {
  std::vector<double> rmse, mae, rank;
  int fits = 0;
  Status status = Status::Success;
};

// The CV table over `folds` (mean and sd across folds per lambda; written to
// `rows` when given) and the index of its lowest mean RMSE among the lambdas
// every one of them reached, so that the means compare like with like.
std::size_t cv_table(const std::vector<const game_detail::FoldTrace*>& folds, const std::vector<double>& grid,
                     std::vector<CrossValidationRow>* rows) {
  std::vector<CrossValidationRow> table(grid.size());
  std::size_t best_index = 0;
  double best = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < grid.size(); ++i) {
    CrossValidationRow& row = table[i];
    row.lambda = grid[i];
    double s = 0, s2 = 0, a = 0, rk = 0;
    for (const FoldTrace* f : folds) {
      if (i >= f->rmse.size()) continue;
      ++row.folds;
      s += f->rmse[i];
      s2 += f->rmse[i] * f->rmse[i];
      a += f->mae[i];
      rk += f->rank[i];
    }
    if (row.folds == 0) continue;
    const double n = row.folds;
    row.mean_rmse = s / n;
    row.sd_rmse = n > 1 ? std::sqrt(std::max(0.0, (s2 - s * s / n) / (n - 1))) : 0.0;
    row.mean_mae = a / n;
    row.mean_rank = rk / n;
    if (row.folds == static_cast<int>(folds.size()) && row.mean_rmse < best) {
      best = row.mean_rmse;
      best_index = i;
    }
  }
  if (rows) *rows = std::move(table);
  return best_index;
}

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
    case Centering::None: return std::nullopt;
    case Centering::Biases: return fit_biases(e, o.bias_shrinkage, o.bias_sweeps);
    case Centering::Center: {
      BiScale<T> b = fit_centering(e);
      Biases<T> out;
      out.row = std::move(b.row_center);
      out.col = std::move(b.col_center);
      return out;
    }
    default: break;
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
    const double r = static_cast<double>(lowrank::predict(z, e.row[t], e.col[t])) + static_cast<double>(offset(c, e.row[t], e.col[t])) -
                     static_cast<double>(e.value[t]);
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
  o.keep_certificates = true;  // exact warm starts of the dual
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
  if (p.cv_float && !std::is_same_v<T, float>)
    f.template operator()<float>();
  else
    f.template operator()<T>();
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
      if constexpr (std::is_same_v<F, T>)
        warm = std::move(*w);
      else
        warm = w->template cast<T>();
    }
  };
  with_cv_scalar<T>(p, first_stage);
  if (status == Status::Interrupted) return warm;
  return run_path<T>(data, groups, grid, count - 1, count, fit, std::move(warm), fits, status, report);
}

}  // namespace

template <class T>
T GamePathFit<T>::predict(Index i, Index j) const {
  return lowrank::predict(result, i, j) + offset(offsets, i, j);
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

// fit_game_path with one centring (Auto resolved). `refit` false: CV only
// (grid, table, best index, fits), no fit on all entries. `done_cv`: the CV
// of an earlier call with the same centring, whose folds are not run again.
template <class T>
GamePathFit<T> fit_game_path_centred(const ObservedEntries<T>& entries, const RowGroups& groups,
                                     const GamePathOptions& options, Centering centering, bool refit,
                                     const GamePathFit<T>* done_cv) {
  const auto t0 = Clock::now();
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

  GamePathFit<T> out;
  std::mutex event_mutex;  // folds may report from several threads
  auto event = [&](std::string_view stage, int iteration, double objective, Index rank) {
    if (!options.progress) return;
    const std::lock_guard<std::mutex> lock(event_mutex);
    ProgressEvent ev;
    ev.stage = stage;
    ev.iteration = iteration;
    ev.objective = objective;
    ev.rank = static_cast<int>(rank);
    ev.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    options.progress(ev);
  };

  // Every fit's own progress goes through the same lock, stamped with the
  // path's clock (each fit's would restart at 0 in every fold and refit).
  GameOptions fit_options = options.game;
  if (fit_options.progress) {
    fit_options.progress = [&event_mutex, &options, t0](const ProgressEvent& e) {
      const std::lock_guard<std::mutex> lock(event_mutex);
      ProgressEvent ev = e;
      ev.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
      options.game.progress(ev);
    };
  }

  out.centering = centering;
  out.offsets = fit_offsets(entries, centering, options);
  const ObservedEntries<T> data = take_offsets(out.offsets, entries);

  if (options.lambda) {
    GameOptions o = fit_options;
    o.lambda = *options.lambda;
    out.grid = {*options.lambda};
    out.lambda_max = game_lambda_max(data, groups, o);
    out.result = fit_game(data, groups, o);
    out.fits = 1;
    out.status = out.result.status == Status::Interrupted ? Status::Interrupted : Status::Success;
    out.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    return out;
  }

  out.lambda_max = game_lambda_max(data, groups, options.game);
  if (!(out.lambda_max > 0)) throw InvalidArgument("GAME path: lambda_max is 0 (all centred entries are zero)");
  out.grid = log_lambda_grid(out.lambda_max, options.lambdas, options.min_ratio);
  std::size_t final_count = out.grid.size();

  if (done_cv) {
    out.cv = done_cv->cv;
    out.best_index = done_cv->best_index;
    out.fits = done_cv->fits;
    final_count = out.best_index + 1;
  } else if (options.folds > 0) {
    const std::size_t L = out.grid.size();
    GameOptions o = cv_fit_options(fit_options, options);
    o.allow_unobserved_groups = true;  // a small group may lose all its entries to a fold
    const auto splits = k_fold(entries, options.folds, options.seed);
    std::vector<game_detail::FoldTrace> traces(splits.size());
    std::vector<char> fold_done(splits.size(), 0);
    std::mutex fold_done_mutex;
    // A fold fits in scalar F (float under cv_float), centred and scored in T.
    auto run_fold_as = [&]<class F>(std::size_t f) {
      game_detail::FoldTrace& trace = traces[f];
      const ObservedEntries<T> tr_raw = entries.subset(splits[f].train);
      const ObservedEntries<T> va = entries.subset(splits[f].test);
      const std::optional<Biases<T>> c = fit_offsets(tr_raw, centering, options);
      const ObservedEntries<F> tr = take_offsets(c, tr_raw).template cast<F>();
      std::vector<double> fold_grid = out.grid;
      const double factor = cv_lambda_factor(options.lambda_scaling, tr.nnz(), entries.nnz());
      for (double& l : fold_grid) l *= factor;
      game_detail::FoldStopRule stop(options.patience);
      std::vector<double> squared;
      run_path<F>(tr, groups, fold_grid, 0, L, o, std::nullopt, trace.fits, trace.status, [&](std::size_t i, const GameResult<F>& r) {
        const ErrorMetrics m = score(r, c, va, &squared);
        trace.rmse.push_back(m.rmse);
        trace.mae.push_back(m.mae);
        trace.rank.push_back(static_cast<double>(max_group_rank(r)));
        event("game-cv", static_cast<int>(f * L + i + 1), m.rmse, max_group_rank(r));
        return !stop.should_stop(squared);
      });
      const std::lock_guard<std::mutex> lock(fold_done_mutex);
      fold_done[f] = 1;
    };
    auto run_fold = [&](std::size_t f) {
      with_cv_scalar<T>(options, [&]<class F>() { run_fold_as.template operator()<F>(f); });
    };
    // The folds are independent: with several threads each fold runs its
    // path on one of them (the sweeps inside then run serially, BLAS too).
    // A fold's fits do not depend on the schedule, so the CV table is the
    // serial one. One thread per fold beats threads inside one fit: those
    // speed a MovieLens fit up by 1.15x on 2 cores, the folds by ~1.8x.
    //
    // The refit runs speculatively as one of the tasks, at the lambda the
    // folds finished so far choose: otherwise a thread idles while the last
    // folds finish. It is the second-to-last task, but not one of the first
    // threads + 1 (it would find too few folds done), so with 5 folds on 2
    // threads it starts once 3 folds are done and runs beside the fifth. As
    // the last task it started after 4, and on MovieLens-100k ran ~10 s
    // alone at the end of the path. The refit's walk depends
    // only on the data and the grid, so when all folds choose the same lambda
    // it is the serial refit bit for bit; when they do not, it is discarded
    // and the refit runs again, so the result never depends on the threads.
    const int threads = std::min<int>(omp_get_max_threads(), static_cast<int>(splits.size()) + 1);
    std::optional<GameResult<T>> speculative;
    std::size_t speculative_index = 0;
    int speculative_fits = 0;
    Status speculative_status = Status::Success;
    auto run_speculative_refit = [&] {
      if (!refit) return;
      std::vector<const game_detail::FoldTrace*> finished;
      {
        const std::lock_guard<std::mutex> lock(fold_done_mutex);
        for (std::size_t f = 0; f < traces.size(); ++f)
          if (fold_done[f] && traces[f].status != Status::Interrupted) finished.push_back(&traces[f]);
      }
      if (finished.empty()) return;  // more threads than folds: nothing to go on yet
      speculative_index = game_detail::cv_table(finished, out.grid, nullptr);
      speculative = refit_path<T>(data, groups, out.grid, speculative_index + 1, false, fit_options, options,
                                  speculative_fits,
                                  speculative_status, [&](std::size_t i, double objective, Index rank) {
                                    event("game-path", static_cast<int>(i + 1), objective, rank);
                                  });
    };
    if (threads > 1) {
      const lowrank::detail::SerialBlasScope serial_blas;
      const int saved_levels = omp_get_max_active_levels();
      omp_set_max_active_levels(1);
      std::exception_ptr error;
      std::mutex error_mutex;
      // one task per fold and the speculative refit at refit_task
      const auto count = static_cast<std::ptrdiff_t>(splits.size()) + 1;
      const std::ptrdiff_t refit_task = std::min<std::ptrdiff_t>(count - 1, std::max<std::ptrdiff_t>(threads + 1, count - 2));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
      for (std::ptrdiff_t f = 0; f < count; ++f) {
        try {
          if (f == refit_task)
            run_speculative_refit();
          else
            run_fold(static_cast<std::size_t>(f < refit_task ? f : f - 1));
        } catch (...) {
          const std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
        }
      }
      omp_set_max_active_levels(saved_levels);
      if (error) std::rethrow_exception(error);
    } else {
      for (std::size_t f = 0; f < splits.size(); ++f) {
        run_fold(f);
        if (traces[f].status == Status::Interrupted) break;
      }
    }
    // merged in fold order, as the serial loop would push them
    std::vector<const game_detail::FoldTrace*> all;
    for (const game_detail::FoldTrace& trace : traces) {
      out.fits += trace.fits;
      if (trace.status == Status::Interrupted) out.status = Status::Interrupted;
      all.push_back(&trace);
    }
    out.best_index = game_detail::cv_table(all, out.grid, &out.cv);
    final_count = out.best_index + 1;
    if (!refit) {
      out.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
      return out;
    }
    if (out.status == Status::Interrupted || speculative_status == Status::Interrupted) {
      // Ctrl-C: keep the fit on all entries that the speculative refit got to
      // (at the lambda the folds finished by then chose; its last iterate if
      // it was itself interrupted). Without one the result stays empty
      // (a 0 x 0 estimate) and callers must not score it.
      out.status = Status::Interrupted;
      if (speculative) {
        out.fits += speculative_fits;
        out.best_index = speculative_index;
        out.result = std::move(*speculative);
      }
      out.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
      return out;
    }
    if (speculative && speculative_index == out.best_index) {
      out.fits += speculative_fits;
      out.result = std::move(*speculative);
      out.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
      return out;
    }
    out.discarded_fits = speculative_fits;
  }

  auto last = refit_path<T>(data, groups, out.grid, final_count, options.folds == 0, fit_options, options, out.fits,
                            out.status,
                            [&](std::size_t i, double objective, Index rank) {
                              event("game-path", static_cast<int>(i + 1), objective, rank);
                            });
  if (last) out.result = std::move(*last);
  if (options.folds == 0) out.best_index = out.grid.size() - 1;
  out.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace

template <class T>
GamePathFit<T> fit_game_path(const ObservedEntries<T>& entries, const RowGroups& groups,
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
    CenteringScore s;
    s.centering = candidates[c];
    s.best_rmse = f.cv[f.best_index].mean_rmse;
    s.best_lambda = f.grid[f.best_index];
    s.folds = f.cv[f.best_index].folds;
    scores.push_back(s);
    if (c != best) cv_fits += f.fits;
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
  out.centering_scores = std::move(scores);
  out.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
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
  const int total = candidates * folds * lambdas;
  // the path calls its progress under one lock, so the state needs none
  return [st, sink = std::move(sink), lambdas, folds, total](const ProgressEvent& e) {
    ProgressEvent ev = e;
    ev.elapsed_s = std::chrono::duration<double>(Clock::now() - st->t0).count();
    char buf[200];
    if (e.stage == "game-cv") {
      ++st->done;
      const int fold = (e.iteration - 1) / lambdas + 1, lambda = (e.iteration - 1) % lambdas + 1;
      const double left = ev.elapsed_s / st->done * std::max(0, total - st->done);
      std::snprintf(buf, sizeof buf, "game-cv fold %d/%d, lambda %d/%d (%d of at most %d fold fits, ~%.0f s left)",
                    fold, folds, lambda, lambdas, st->done, total, left);
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
  Index total = 0;
  for (const auto& g : r.groups) total += g.rank();
  CompletionModel<T> model;
  model.rows = r.rows;
  model.cols = r.cols;
  total = std::min({total, r.rows, r.cols});
  Index sum = 0;
  for (const auto& g : r.groups) sum += g.rank();
  if (sum == 0) {
    model.U.resize(r.rows, 0);
    model.d.resize(0);
    model.V.resize(r.cols, 0);
    return model;
  }
  Matrix<T> a = Matrix<T>::Zero(r.rows, sum), b(r.cols, sum);
  Index c = 0;
  for (std::size_t k = 0; k < r.groups.size(); ++k) {
    const GameGroupFit<T>& g = r.groups[k];
    if (g.rank() == 0) continue;
    const Matrix<T> us = g.U * g.S.asDiagonal();
    for (std::size_t p = 0; p < r.members[k].size(); ++p) a.row(r.members[k][p]).segment(c, g.rank()) = us.row(static_cast<Index>(p));
    b.middleCols(c, g.rank()) = g.V;
    c += g.rank();
  }
  // Z = A B^T = Qa (Ra Rb^T) Qb^T; the SVD of the small core gives Z's.
  const Index qa_cols = std::min(r.rows, sum), qb_cols = std::min(r.cols, sum);
  const Eigen::HouseholderQR<Matrix<T>> qra(a), qrb(b);
  const Matrix<T> ra = qra.matrixQR().topRows(qa_cols).template triangularView<Eigen::Upper>();
  const Matrix<T> rb = qrb.matrixQR().topRows(qb_cols).template triangularView<Eigen::Upper>();
  const Matrix<T> qa = qra.householderQ() * Matrix<T>::Identity(r.rows, qa_cols);
  const Matrix<T> qb = qrb.householderQ() * Matrix<T>::Identity(r.cols, qb_cols);
  const CompletionModel<T> core = model_from_dense(Matrix<T>(ra * rb.transpose()), total);
  model.U = qa * core.U;
  model.d = core.d;
  model.V = qb * core.V;
  return model;
}

template <class T>
GameGroupErrors<T> game_group_errors(const GamePathFit<T>& fit, const RowGroups& groups,
                                     const ObservedEntries<T>& entries) {
  GameGroupErrors<T> out;
  if (!fit.result.has_estimate())
    throw InvalidArgument("GAME errors: the fit holds no estimate (interrupted before any fit on all the entries finished)");
  out.overall = score(fit.result, fit.offsets, entries);
  std::vector<std::vector<std::size_t>> by_row(static_cast<std::size_t>(fit.result.rows));
  for (std::size_t t = 0; t < entries.nnz(); ++t) {
    const auto i = static_cast<std::size_t>(entries.row[t]);
    if (i >= by_row.size() || entries.col[t] < 0 || entries.col[t] >= fit.result.cols)
      throw InvalidArgument("GAME errors: entry " + std::to_string(t) + " is outside the fitted matrix");
    by_row[i].push_back(t);
  }
  for (std::size_t k = 0; k < groups.size(); ++k) {
    std::vector<std::size_t> pos;
    for (auto i : groups.rows[k])
      if (i >= 0 && static_cast<std::size_t>(i) < by_row.size())
        pos.insert(pos.end(), by_row[static_cast<std::size_t>(i)].begin(), by_row[static_cast<std::size_t>(i)].end());
    out.groups.push_back(score(fit.result, fit.offsets, entries.subset(pos)));
  }
  return out;
}

template <class T>
Index effective_rank(const GameGroupFit<T>& group, double relative_tol) {
  if (group.S.size() == 0 || !(group.S(0) > T(0))) return 0;
  Index r = 0;
  for (Index i = 0; i < group.S.size(); ++i)
    if (static_cast<double>(group.S(i)) > relative_tol * static_cast<double>(group.S(0))) ++r;
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

#define LOWRANK_GAME_PATH(T)                                                                                   \
  template struct GamePathFit<T>;                                                                              \
  template GamePathFit<T> fit_game_path(const ObservedEntries<T>&, const RowGroups&, const GamePathOptions&); \
  template CompletionModel<T> game_completion_model(const GameResult<T>&);                                     \
  template GameGroupErrors<T> game_group_errors(const GamePathFit<T>&, const RowGroups&,                      \
                                                const ObservedEntries<T>&);                                    \
  template Index effective_rank(const GameGroupFit<T>&, double);                                               \
  template Vector<T> group_subspace_angles(const GameGroupFit<T>&, const Matrix<T>&);
LOWRANK_GAME_PATH(float)
LOWRANK_GAME_PATH(double)
#undef LOWRANK_GAME_PATH

}  // namespace lowrank
