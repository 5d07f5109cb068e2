#include "lowrank/completion/path.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <omp.h>
#include <string>

#include "lowrank/core/detail/serial_blas.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/core/splits.hpp"

namespace lowrank {

std::vector<double> log_lambda_grid(double lambda_max, int count, double min_ratio) {
  if (count < 1) throw InvalidArgument("lambda path: the number of lambdas must be >= 1, got " + std::to_string(count));
  if (!(lambda_max > 0) || !std::isfinite(lambda_max)) {
    throw InvalidArgument("lambda path: lambda_max must be positive and finite (is the observed matrix all zeros?)");
  }
  if (!(min_ratio > 0 && min_ratio < 1)) {
    throw InvalidArgument("lambda path: min_ratio must be in (0, 1), got " + std::to_string(min_ratio));
  }
  std::vector<double> out(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const double t = count == 1 ? 0.0 : static_cast<double>(i) / (count - 1);
    out[static_cast<std::size_t>(i)] = lambda_max * std::pow(min_ratio, t);
  }
  return out;
}

double cv_lambda_factor(CvLambdaScaling scaling, std::size_t fold_entries, std::size_t all_entries) {
  if (scaling == CvLambdaScaling::None || all_entries == 0) return 1.0;
  return std::sqrt(static_cast<double>(fold_entries) / static_cast<double>(all_entries));
}

const char* to_string(CvLambdaScaling scaling) noexcept { return scaling == CvLambdaScaling::None ? "none" : "sqrt"; }

CvLambdaScaling parse_cv_lambda_scaling(std::string_view name) {
  if (name == "sqrt") return CvLambdaScaling::SqrtEntries;
  if (name == "none") return CvLambdaScaling::None;
  throw InvalidArgument("CV lambda scaling must be 'sqrt' or 'none', got '" + std::string(name) + "'");
}

std::size_t cv_table(const std::vector<FoldScores>& folds, const std::vector<double>& grid,
                     std::vector<CrossValidationRow>& table) {
  const std::size_t L = grid.size();
  table.assign(L, {});
  std::size_t best_index = 0;
  double best_rmse = std::numeric_limits<double>::infinity();
  for (std::size_t l = 0; l < L; ++l) {
    CrossValidationRow& row = table[l];
    row.lambda = grid[l];
    double s = 0, s2 = 0, sm = 0, sr = 0;
    int n = 0;
    for (const FoldScores& f : folds) {
      if (l >= f.rmse.size() || std::isnan(f.rmse[l])) continue;
      s += f.rmse[l];
      s2 += f.rmse[l] * f.rmse[l];
      sm += f.mae[l];
      sr += f.rank[l];
      ++n;
    }
    row.folds = n;
    if (n == 0) {
      row.mean_rmse = row.sd_rmse = row.mean_mae = row.mean_rank = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    row.mean_rmse = s / n;
    row.sd_rmse = n > 1 ? std::sqrt(std::max(0.0, (s2 - s * s / n) / (n - 1))) : 0.0;
    row.mean_mae = sm / n;
    row.mean_rank = sr / n;
    // Only lambdas every fold reached compete, so an early-stopped fold cannot
    // make a lambda look better than it is.
    if (n == static_cast<int>(folds.size()) && row.mean_rmse < best_rmse) {
      best_rmse = row.mean_rmse;
      best_index = l;
    }
  }
  if (!std::isfinite(best_rmse)) {
    // Interrupted (or screened out) after the first fold: choose among what
    // was computed.
    for (std::size_t l = 0; l < L; ++l) {
      if (table[l].folds > 0 && table[l].mean_rmse < best_rmse) {
        best_rmse = table[l].mean_rmse;
        best_index = l;
      }
    }
  }
  return best_index;
}

template <class T>
std::vector<Split> cv_splits(const ObservedEntries<T>& data, int folds, std::uint64_t seed) {
  if (folds < 2) throw InvalidArgument("cross-validation: folds must be >= 2, got " + std::to_string(folds));
  if (static_cast<std::size_t>(folds) > data.nnz()) {
    throw InvalidArgument("cross-validation: " + std::to_string(folds) + " folds but only " +
                          std::to_string(data.nnz()) + " observed entries");
  }
  return k_fold(data, folds, seed);
}

template <class T>
CvFold<T> cv_fold(const ObservedEntries<T>& data, const Split& split, CvLambdaScaling scaling) {
  CvFold<T> fold;
  fold.train = data.subset(split.train);
  fold.test = data.subset(split.test);
  fold.lambda_factor = cv_lambda_factor(scaling, fold.train.nnz(), data.nnz());
  return fold;
}

namespace {

void check_grid(const std::vector<double>& lambdas) {
  if (lambdas.empty()) throw InvalidArgument("lambda path: the grid is empty");
  for (std::size_t i = 0; i < lambdas.size(); ++i) {
    if (!(lambdas[i] >= 0) || !std::isfinite(lambdas[i])) {
      throw InvalidArgument("lambda path: lambda must be finite and >= 0, got " + std::to_string(lambdas[i]));
    }
    if (i > 0 && lambdas[i] > lambdas[i - 1]) {
      throw InvalidArgument("lambda path: the grid must be decreasing (warm starts go from large to small lambda)");
    }
  }
}

// Static: a callback may keep the event's view of the stage.
const std::string kLambdaPathStage = "lambda-path";

// One fit's progress line (lambda path, CV grid and refinement alike). ProgressEvent
// holds a view of the stage, so `stage` must outlive the callback.
void report_fit(const ProgressCallback& progress, const std::string& stage, int iteration, double objective,
                double lambda, int rank, std::chrono::steady_clock::time_point start) {
  ProgressEvent e;
  e.stage = stage;
  e.iteration = iteration;
  e.objective = objective;
  e.change = lambda;
  e.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  e.rank = rank;
  progress(e);
}

}  // namespace

template <class T>
PathResult<T> fit_path(const ObservedEntries<T>& data, const std::vector<double>& lambdas,
                       const PathFitFunction<T>& fit, bool keep_models, const ProgressCallback& progress) {
  check_grid(lambdas);
  PathResult<T> out;
  const auto start = std::chrono::steady_clock::now();
  const CompletionModel<T>* warm = nullptr;
  CompletionModel<T> last;
  for (std::size_t i = 0; i < lambdas.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    CompletionResult<T> r = fit(data, lambdas[i], warm);
    PathPoint p;
    p.lambda = lambdas[i];
    p.rank = r.model.rank();
    p.iterations = r.iterations;
    p.objective = r.objective_trace.empty() ? std::numeric_limits<double>::quiet_NaN() : r.objective_trace.back();
    p.train_rmse = evaluate(r.model, data).rmse;
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    p.status = r.status;
    out.points.push_back(p);
    last = std::move(r.model);
    if (keep_models) out.models.push_back(last);
    warm = &last;
    if (progress) {
      report_fit(progress, kLambdaPathStage, static_cast<int>(i + 1), p.objective, lambdas[i], static_cast<int>(p.rank),
                 start);
    }
    if (r.status == Status::Interrupted || interrupt_requested()) {
      out.status = Status::Interrupted;
      break;
    }
  }
  if (!keep_models) out.models.push_back(std::move(last));
  return out;
}

namespace {

// One candidate's scores: rmse[f][l] etc., NaN where fold f stopped before
// lambda l, plus the running bookkeeping of its CrossValidationResult.
template <class T>
struct CandidateScores {
  std::vector<std::vector<double>> rmse, mae, rank;
  CrossValidationResult<T> out;
  bool active = true;
  /// Whether a best fold fit is held (CvPathFitter::keep_as_best), and a
  /// finished one.
  bool best_held = false, best_finished = false;
  /// CrossValidationOptions::refine: per fold, its fits at the grid points
  /// from two below to one above its own best (the warm starts a refinement
  /// around a best lambda one grid step from the fold's needs).
  std::vector<std::map<std::size_t, CompletionModel<T>>> kept;
};

// The kept fit at grid index `l`, else the nearest one above it on the path
// (larger lambda: the path's own direction), else the nearest below; null
// when none was kept (a cold start).
template <class T>
const CompletionModel<T>* warm_near(const std::map<std::size_t, CompletionModel<T>>& kept, std::size_t l) {
  if (kept.empty()) return nullptr;
  auto it = kept.upper_bound(l);
  if (it == kept.begin()) return &it->second;
  return &std::prev(it)->second;
}

// The best first-fold validation RMSE of the candidates run before `c`.
template <class T>
double lead_so_far(const std::vector<CandidateScores<T>>& cand, std::size_t c) {
  double lead = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < c; ++k) lead = std::min(lead, cand[k].out.best_fold_rmse);
  return lead;
}

// Whether a candidate's first-fold path, at grid point l, can still come
// within the margin of the leader. Past the steep part of a validation
// curve (three falling gains d, each smaller than the one before) the gains
// along a log grid shrink roughly geometrically; with q the larger of the
// last two gain ratios, the rest of the path gains at most about
// d q / (1 - q). When even that leaves it above (1 + margin) * lead, the
// path stops: the screening after the first fold would drop it anyway
// (on MovieLens u1 the uncentred path stops at its minimum instead of two
// rank-50 fits past it).
bool cannot_catch_up(const std::vector<double>& rmse, std::size_t l, double lead, double margin) {
  if (l < 3 || !std::isfinite(lead)) return false;
  const double d0 = rmse[l - 2] - rmse[l - 3], d1 = rmse[l - 1] - rmse[l - 2], d2 = rmse[l] - rmse[l - 1];
  // gains are the decreases: -d
  const double g0 = -d0, g1 = -d1, g2 = -d2;
  if (!(g0 > 0 && g1 > 0 && g2 > 0 && g2 < g1 && g1 < g0)) return false;
  const double q = std::max(g2 / g1, g1 / g0);
  return rmse[l] - g2 * q / (1.0 - q) > (1.0 + margin) * lead;
}

// The table and best lambda of one candidate from its scores.
template <class T>
void summarize(CandidateScores<T>& c, const std::vector<double>& lambdas, std::size_t nfolds) {
  std::vector<FoldScores> folds(nfolds);
  for (std::size_t f = 0; f < nfolds; ++f) folds[f] = {c.rmse[f], c.mae[f], c.rank[f]};
  c.out.best_index = cv_table(folds, lambdas, c.out.table);
  c.out.best_lambda = lambdas[c.out.best_index];
}

// Refines one candidate's grid around its best lambda b (options.refine
// points between b and each neighbour, log-spaced), fold by fold on the same
// folds, then merges the new rows into its table and grid. Returns false when
// interrupted (the table is then left as the grid gave it).
template <class T>
bool refine_candidate(CandidateScores<T>& cs, std::vector<double>& grid, const ObservedEntries<T>& data,
                      const std::vector<Split>& folds, const PathFitFunction<T>& fit,
                      const CrossValidationOptions& options, const std::string& label,
                      std::chrono::steady_clock::time_point start) {
  const std::size_t b = cs.out.best_index, L = grid.size(), K = folds.size();
  const int R = options.refine;
  std::vector<double> extra;  // decreasing, like the path
  auto between = [&](double hi, double lo) {
    if (!(hi > lo && lo > 0)) return;
    for (int j = 1; j <= R; ++j) extra.push_back(std::exp(std::log(hi) + (std::log(lo) - std::log(hi)) * j / (R + 1)));
  };
  if (b > 0) between(grid[b - 1], grid[b]);
  const std::size_t upper = extra.size();  // these lie above grid[b]
  if (b + 1 < L) between(grid[b], grid[b + 1]);
  if (extra.empty()) return true;
  const std::size_t E = extra.size();
  const std::vector<double> nan(E, std::numeric_limits<double>::quiet_NaN());
  std::vector<std::vector<double>> rmse(K, nan), mae(K, nan), rank(K, nan);
  CrossValidationResult<T>& out = cs.out;
  for (std::size_t f = 0; f < K; ++f) {
    const CvFold<T> fold = cv_fold(data, folds[f], options.lambda_scaling);
    const ObservedEntries<T>& train = fold.train;
    const ObservedEntries<T>& test = fold.test;
    const double factor = fold.lambda_factor;
    const auto t0 = std::chrono::steady_clock::now();
    CompletionModel<T> last;
    const CompletionModel<T>* warm = nullptr;
    for (std::size_t j = 0; j < E; ++j) {
      // The points above b continue the fold's path from b - 1; those below
      // start from b + 1's fit (nearest to them, and of the larger rank: on
      // MovieLens u1 8 iterations against 15-20 from b's fit); each is one
      // short warm-started fit.
      if (j == 0) warm = warm_near(cs.kept[f], upper > 0 ? b - 1 : b + 1);
      else if (j == upper) warm = warm_near(cs.kept[f], b + 1);
      CompletionResult<T> r = fit(train, extra[j] * factor, warm);
      const ErrorMetrics m = evaluate(r.model, test);
      ++out.fits;
      if (r.status == Status::NotConverging) ++out.capped_fits;
      rmse[f][j] = m.rmse;
      mae[f][j] = m.mae;
      rank[f][j] = static_cast<double>(r.model.rank());
      if (m.rmse < out.best_fold_rmse) {
        out.best_fold_model = r.model;
        out.best_fold_rmse = m.rmse;
        out.best_fold_lambda = extra[j];
      }
      last = std::move(r.model);
      warm = &last;
      if (options.progress) {
        const std::string stage = label + " refine fold " + std::to_string(f + 1) + "/" + std::to_string(K) +
                                  " lambda " + std::to_string(j + 1) + "/" + std::to_string(E);
        report_fit(options.progress, stage, static_cast<int>(f * E + j + 1), m.rmse, extra[j],
                   static_cast<int>(last.rank()), start);
      }
      if (r.status == Status::Interrupted || interrupt_requested()) {
        out.status = Status::Interrupted;
        out.stopped_fold = f;
        out.stopped_index = b;
        out.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return false;
      }
    }
    cs.kept[f].clear();
    out.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  // Merge the new rows into the grid's, in path order.
  std::vector<double> merged;
  std::vector<std::vector<double>> mr(K), mm(K), mk(K);
  std::size_t l = 0, j = 0;
  while (l < L || j < E) {
    const bool from_grid = j == E || (l < L && grid[l] >= extra[j]);
    merged.push_back(from_grid ? grid[l] : extra[j]);
    for (std::size_t f = 0; f < K; ++f) {
      mr[f].push_back(from_grid ? cs.rmse[f][l] : rmse[f][j]);
      mm[f].push_back(from_grid ? cs.mae[f][l] : mae[f][j]);
      mk[f].push_back(from_grid ? cs.rank[f][l] : rank[f][j]);
    }
    (from_grid ? l : j)++;
  }
  grid = std::move(merged);
  cs.rmse = std::move(mr);
  cs.mae = std::move(mm);
  cs.rank = std::move(mk);
  out.refined = static_cast<int>(E);
  return true;
}

}  // namespace

namespace {

// A fit function (PathFitFunction) as a fold's fitter: warm-started from its
// own last model, scored by evaluate(); with refine it keeps its fits near
// the fold's best (CandidateScores::kept).
template <class T>
class FunctionFitter final : public CvPathFitter<T> {
 public:
  FunctionFitter(const PathFitFunction<T>& fit, const CvFold<T>& fold, CandidateScores<T>& cs, std::size_t f)
      : fit_(fit), fold_(fold), cs_(cs), kept_(cs.kept.empty() ? nullptr : &cs.kept[f]) {}

  CvFitScore fit(std::size_t l, double lambda) override {
    CompletionResult<T> r = fit_(fold_.train, lambda, warm_);
    const ErrorMetrics m = evaluate(r.model, fold_.test);
    CvFitScore s;
    s.rmse = m.rmse;
    s.mae = m.mae;
    s.rank = static_cast<double>(r.model.rank());
    s.status = r.status;
    if (kept_) {
      // Keep this fit while it lies within [best - 2, best + 1] of the
      // fold's path (see CandidateScores::kept).
      const std::size_t bl = m.rmse < best_ ? l : best_l_;
      kept_->emplace(l, r.model);
      for (auto it = kept_->begin(); it != kept_->end();)
        it = it->first + 2 < bl || it->first > bl + 1 ? kept_->erase(it) : std::next(it);
      if (m.rmse < best_) {
        best_ = m.rmse;
        best_l_ = l;
      }
    }
    last_ = std::move(r.model);
    warm_ = &last_;
    return s;
  }
  void keep_as_best() override { cs_.out.best_fold_model = last_; }

 private:
  const PathFitFunction<T>& fit_;
  const CvFold<T>& fold_;
  CandidateScores<T>& cs_;
  std::map<std::size_t, CompletionModel<T>>* kept_;
  CompletionModel<T> last_;
  const CompletionModel<T>* warm_ = nullptr;
  double best_ = std::numeric_limits<double>::infinity();
  std::size_t best_l_ = 0;
};

template <class T>
CvFitterFactory<T> function_fitters(const PathFitFunction<T>& fit, CandidateScores<T>& cs) {
  return [&fit, &cs](std::size_t f, const CvFold<T>& fold) {
    return std::unique_ptr<CvPathFitter<T>>(std::make_unique<FunctionFitter<T>>(fit, fold, cs, f));
  };
}

template <class T>
std::vector<CandidateScores<T>> init_candidates(const std::vector<std::vector<double>>& grids, std::size_t folds,
                                                bool keep_for_refine) {
  std::vector<CandidateScores<T>> cand(grids.size());
  for (std::size_t c = 0; c < grids.size(); ++c) {
    const std::vector<double> nan(grids[c].size(), std::numeric_limits<double>::quiet_NaN());
    cand[c].rmse.assign(folds, nan);
    cand[c].mae = cand[c].rank = cand[c].rmse;
    if (keep_for_refine) cand[c].kept.resize(folds);
    cand[c].out.best_fold_rmse = std::numeric_limits<double>::infinity();
  }
  return cand;
}

// The one CV loop (cross_validate_paths): every candidate's fitter down its
// grid on every fold, the candidates' scores in `cand_`.
template <class T>
class CvLoop {
 public:
  CvLoop(const ObservedEntries<T>& data, const std::vector<std::vector<double>>& grids,
         const std::vector<CvFitterFactory<T>>& fitters, const CrossValidationOptions& options,
         const std::vector<std::string>& labels, const std::vector<Split>& folds, std::vector<CandidateScores<T>>& cand,
         std::chrono::steady_clock::time_point start)
      : data_(data),
        grids_(grids),
        fitters_(fitters),
        options_(options),
        labels_(labels),
        folds_(folds),
        cand_(cand),
        start_(start),
        fold_done_(folds.size(), 0) {}

  // Returns whether an interrupt stopped it.
  bool run() {
    if (options_.parallel_folds && cand_.size() == 1) run_parallel();
    else run_serial();
    return interrupted_;
  }

 private:
  const std::string& label(std::size_t c) const {
    static const std::string fallback = "cross-validation";
    return labels_.empty() ? (options_.label.empty() ? fallback : options_.label) : labels_[c];
  }

  void run_serial() {
    double first_fold_end = 0.0;  // seconds; the first fold also screens candidates, so it is timed apart
    const std::size_t C = cand_.size();
    for (std::size_t f = 0; f < folds_.size() && !interrupted_; ++f) {
      const double fold_start = seconds_since(start_);
      if (f == 1) first_fold_end = fold_start;
      // Grid time left (refinement and refit not counted), from the mean time of
      // the folds after the first, or the first fold's own until one exists.
      const double per_fold = f == 0 ? 0.0 : f == 1 ? first_fold_end : (fold_start - first_fold_end) / double(f - 1);
      const CvFold<T> fold = cv_fold(data_, folds_[f], options_.lambda_scaling);
      for (std::size_t c = 0; c < C && !interrupted_; ++c)
        if (cand_[c].active) run_path(c, f, fold, fold_start, per_fold);
      if (f == 0 && C > 1 && options_.screen_margin >= 0 && !interrupted_) {
        // Screening after the first fold: a candidate whose best validation
        // RMSE is worse than the leader's by more than the margin would need
        // the other folds to overturn a clear gap; it stops here, and its
        // table shows one fold per row.
        double lead = std::numeric_limits<double>::infinity();
        for (const auto& cs : cand_) lead = std::min(lead, cs.out.best_fold_rmse);
        for (auto& cs : cand_) {
          if (cs.out.best_fold_rmse > (1.0 + options_.screen_margin) * lead) {
            cs.active = false;
            cs.out.screened_out = true;
            cs.kept.clear();
          }
        }
      }
    }
  }

  // The folds in parallel, one thread each, and options_.side_task beside
  // them: folds are independent, and one thread per fold beats threads
  // inside one fit (a MovieLens GAME fit: 1.15x on 2 cores, its folds
  // ~1.8x). The side task is the second-to-last task but not one of the
  // first threads + 1 (it would find too few folds done): with 5 folds on 2
  // threads it starts once 3 are done and runs beside the fifth.
  void run_parallel() {
    const std::size_t K = folds_.size();
    const bool side = static_cast<bool>(options_.side_task);
    const int threads = std::min<int>(omp_get_max_threads(), static_cast<int>(K) + 1);
    if (threads <= 1) {
      for (std::size_t f = 0; f < K && !interrupted_; ++f) run_fold_alone(f);
      return;
    }
    const detail::SerialBlasScope serial_blas;
    const int saved_levels = omp_get_max_active_levels();
    omp_set_max_active_levels(1);
    std::exception_ptr error;
    const auto count = static_cast<std::ptrdiff_t>(K) + 1;
    const std::ptrdiff_t side_at =
        std::min<std::ptrdiff_t>(count - 1, std::max<std::ptrdiff_t>(threads + 1, count - 2));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (std::ptrdiff_t t = 0; t < count; ++t) {
      try {
        if (t == side_at) {
          if (side) options_.side_task([this] { return chosen_so_far(); });
        } else {
          run_fold_alone(static_cast<std::size_t>(t < side_at ? t : t - 1));
        }
      } catch (...) {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (!error) error = std::current_exception();
      }
    }
    omp_set_max_active_levels(saved_levels);
    if (error) std::rethrow_exception(error);
  }

  void run_fold_alone(std::size_t f) {
    const CvFold<T> fold = cv_fold(data_, folds_[f], options_.lambda_scaling);
    const bool stopped = run_path(0, f, fold, seconds_since(start_), 0.0);
    const std::lock_guard<std::mutex> lock(mutex_);
    fold_done_[f] = stopped ? 0 : 1;
  }

  // The best grid index of the folds finished so far (parallel folds).
  std::optional<std::size_t> chosen_so_far() {
    std::vector<FoldScores> done;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (std::size_t f = 0; f < folds_.size(); ++f)
        if (fold_done_[f]) done.push_back({cand_[0].rmse[f], cand_[0].mae[f], cand_[0].rank[f]});
    }
    if (done.empty()) return std::nullopt;
    std::vector<CrossValidationRow> table;
    return cv_table(done, grids_[0], table);
  }

  // Candidate c's path on fold f; returns whether an interrupt stopped it.
  bool run_path(std::size_t c, std::size_t f, const CvFold<T>& fold, double fold_start, double per_fold) {
    CandidateScores<T>& cs = cand_[c];
    CrossValidationResult<T>& out = cs.out;
    const std::vector<double>& lambdas = grids_[c];
    const std::size_t L = lambdas.size();
    const auto t0 = std::chrono::steady_clock::now();
    const std::unique_ptr<CvPathFitter<T>> fitter = fitters_[c](f, fold);
    const bool own_rule = fitter->own_stop_rule();
    double best = std::numeric_limits<double>::infinity();
    int worse = 0;
    bool stopped = false;
    for (std::size_t l = 0; l < L; ++l) {
      const CvFitScore s = fitter->fit(l, lambdas[l] * fold.lambda_factor);
      const bool interrupt = s.status == Status::Interrupted || interrupt_requested();
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        ++out.fits;
        if (s.status == Status::NotConverging) ++out.capped_fits;
        cs.rmse[f][l] = s.rmse;
        cs.mae[f][l] = s.mae;
        cs.rank[f][l] = s.rank;
        // An interrupted fit is a last iterate, not a finished fit: it is kept
        // only when nothing better exists.
        const bool keep =
            s.keepable && (s.finished ? (!cs.best_finished || s.rmse < out.best_fold_rmse) : !cs.best_held);
        if (keep) {
          fitter->keep_as_best();
          cs.best_held = true;
          cs.best_finished = s.finished;
          out.best_fold_rmse = s.finished ? s.rmse : std::numeric_limits<double>::infinity();
          out.best_fold_lambda = lambdas[l];
        }
        if (options_.progress) report(c, f, l, L, s, fold_start, per_fold);
        if (interrupt) {
          if (!interrupted_ || f < out.stopped_fold) {
            out.stopped_fold = f;
            out.stopped_index = l;
          }
          out.status = Status::Interrupted;
          interrupted_ = true;
        }
      }
      if (interrupt) {
        stopped = true;
        break;
      }
      if (own_rule) {
        if (s.stop) break;
      } else if (s.rmse < best) {
        best = s.rmse;
        worse = 0;
      } else if (options_.patience > 0 &&
                 (++worse >= options_.patience ||
                  (options_.rise_margin >= 0 && s.rmse > (1.0 + options_.rise_margin) * best))) {
        break;
      }
      if (f == 0 && c > 0 && options_.screen_margin >= 0 &&
          cannot_catch_up(cs.rmse[0], l, lead_so_far(cand_, c), options_.screen_margin)) {
        // Screened out during the first fold: its path would not reach the
        // leader's margin on it (see cannot_catch_up).
        cs.active = false;
        out.screened_out = true;
        cs.kept.clear();
        break;
      }
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!stopped) ++out.folds_completed;
    out.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return stopped;
  }

  void report(std::size_t c, std::size_t f, std::size_t l, std::size_t L, const CvFitScore& s, double fold_start,
              double per_fold) {
    stage_ = label(c) + " fold " + std::to_string(f + 1) + "/" + std::to_string(folds_.size()) + " lambda " +
             std::to_string(l + 1) + "/" + std::to_string(L);
    if (f > 0 && !options_.parallel_folds) {
      const double left = std::max(0.0, per_fold * double(folds_.size() - f) - (seconds_since(start_) - fold_start));
      stage_ += ", grid ~" + std::to_string(static_cast<long long>(std::lround(left))) + "s left";
    }
    report_fit(options_.progress, stage_, static_cast<int>(f * L + l + 1), s.rmse, grids_[c][l],
               static_cast<int>(s.rank), start_);
  }

  const ObservedEntries<T>& data_;
  const std::vector<std::vector<double>>& grids_;
  const std::vector<CvFitterFactory<T>>& fitters_;
  const CrossValidationOptions& options_;
  const std::vector<std::string>& labels_;
  const std::vector<Split>& folds_;
  std::vector<CandidateScores<T>>& cand_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;  // the results, the best fold fit and progress, for folds in parallel
  std::vector<char> fold_done_;
  std::string stage_;  // the last progress stage (an event holds a view of it)
  bool interrupted_ = false;
};

template <class T>
void check_candidates(const std::vector<std::vector<double>>& grids, std::size_t fits,
                      const std::vector<std::string>& labels) {
  if (grids.empty() || grids.size() != fits || (!labels.empty() && labels.size() != fits))
    throw InvalidArgument("cross-validation: give one grid and one fit function per candidate");
  for (const auto& g : grids) check_grid(g);
}

}  // namespace

template <class T>
std::vector<CrossValidationResult<T>> cross_validate_paths(const ObservedEntries<T>& data,
                                                           const std::vector<std::vector<double>>& grids,
                                                           const std::vector<CvFitterFactory<T>>& fitters,
                                                           const CrossValidationOptions& options,
                                                           const std::vector<std::string>& labels) {
  check_candidates<T>(grids, fitters.size(), labels);
  const std::vector<Split> folds = cv_splits(data, options.folds, options.seed);
  std::vector<CandidateScores<T>> cand = init_candidates<T>(grids, folds.size(), false);
  const bool interrupted =
      CvLoop<T>(data, grids, fitters, options, labels, folds, cand, std::chrono::steady_clock::now()).run();
  std::vector<CrossValidationResult<T>> results;
  for (std::size_t c = 0; c < cand.size(); ++c) {
    summarize(cand[c], grids[c], folds.size());
    if (interrupted) cand[c].out.status = Status::Interrupted;
    results.push_back(std::move(cand[c].out));
  }
  return results;
}

template <class T>
std::vector<CrossValidationResult<T>> cross_validate_candidates(const ObservedEntries<T>& data,
                                                                const std::vector<std::vector<double>>& grids,
                                                                const std::vector<PathFitFunction<T>>& fits,
                                                                const CrossValidationOptions& options,
                                                                const std::vector<std::string>& labels) {
  check_candidates<T>(grids, fits.size(), labels);
  const std::vector<Split> folds = cv_splits(data, options.folds, options.seed);
  const std::size_t C = fits.size();
  std::vector<CandidateScores<T>> cand = init_candidates<T>(grids, folds.size(), options.refine > 0);
  std::vector<CvFitterFactory<T>> fitters;
  for (std::size_t c = 0; c < C; ++c) {
    fitters.push_back(function_fitters(fits[c], cand[c]));
  }
  CrossValidationOptions loop_options = options;
  loop_options.parallel_folds = false;  // the fit functions thread inside themselves
  const auto start = std::chrono::steady_clock::now();
  bool interrupted = CvLoop<T>(data, grids, fitters, loop_options, labels, folds, cand, start).run();
  std::vector<std::vector<double>> grid = grids;
  for (std::size_t c = 0; c < C; ++c) summarize(cand[c], grid[c], folds.size());
  if (options.refine > 0 && !interrupted) {
    // Refine the leader: the candidate with the lowest mean over all folds.
    std::size_t lead = C;
    for (std::size_t c = 0; c < C; ++c) {
      const CrossValidationRow& row = cand[c].out.table[cand[c].out.best_index];
      if (cand[c].active && row.folds == static_cast<int>(folds.size()) &&
          (lead == C || row.mean_rmse < cand[lead].out.table[cand[lead].out.best_index].mean_rmse))
        lead = c;
    }
    if (lead < C) {
      const std::string label =
          labels.empty() ? (options.label.empty() ? std::string("cross-validation") : options.label) : labels[lead];
      if (refine_candidate(cand[lead], grid[lead], data, folds, fits[lead], options, label, start))
        summarize(cand[lead], grid[lead], folds.size());
      else interrupted = true;
    }
  }
  std::vector<CrossValidationResult<T>> results;
  for (std::size_t c = 0; c < C; ++c) {
    if (interrupted) cand[c].out.status = Status::Interrupted;
    results.push_back(std::move(cand[c].out));
  }
  return results;
}

template <class T>
CrossValidationResult<T> cross_validate(const ObservedEntries<T>& data, const std::vector<double>& lambdas,
                                        const PathFitFunction<T>& fit, const CrossValidationOptions& options) {
  return std::move(cross_validate_candidates<T>(data, {lambdas}, {fit}, options).front());
}

template std::vector<Split> cv_splits(const ObservedEntries<float>&, int, std::uint64_t);
template std::vector<Split> cv_splits(const ObservedEntries<double>&, int, std::uint64_t);
template CvFold<float> cv_fold(const ObservedEntries<float>&, const Split&, CvLambdaScaling);
template CvFold<double> cv_fold(const ObservedEntries<double>&, const Split&, CvLambdaScaling);
template PathResult<float> fit_path(const ObservedEntries<float>&, const std::vector<double>&,
                                    const PathFitFunction<float>&, bool, const ProgressCallback&);
template PathResult<double> fit_path(const ObservedEntries<double>&, const std::vector<double>&,
                                     const PathFitFunction<double>&, bool, const ProgressCallback&);
template std::vector<CrossValidationResult<float>> cross_validate_candidates(const ObservedEntries<float>&,
                                                                             const std::vector<std::vector<double>>&,
                                                                             const std::vector<PathFitFunction<float>>&,
                                                                             const CrossValidationOptions&,
                                                                             const std::vector<std::string>&);
template std::vector<CrossValidationResult<double>> cross_validate_candidates(
    const ObservedEntries<double>&, const std::vector<std::vector<double>>&,
    const std::vector<PathFitFunction<double>>&, const CrossValidationOptions&, const std::vector<std::string>&);
template std::vector<CrossValidationResult<float>> cross_validate_paths(const ObservedEntries<float>&,
                                                                        const std::vector<std::vector<double>>&,
                                                                        const std::vector<CvFitterFactory<float>>&,
                                                                        const CrossValidationOptions&,
                                                                        const std::vector<std::string>&);
template std::vector<CrossValidationResult<double>> cross_validate_paths(const ObservedEntries<double>&,
                                                                         const std::vector<std::vector<double>>&,
                                                                         const std::vector<CvFitterFactory<double>>&,
                                                                         const CrossValidationOptions&,
                                                                         const std::vector<std::string>&);
template CrossValidationResult<float> cross_validate(const ObservedEntries<float>&, const std::vector<double>&,
                                                     const PathFitFunction<float>&, const CrossValidationOptions&);
template CrossValidationResult<double> cross_validate(const ObservedEntries<double>&, const std::vector<double>&,
                                                      const PathFitFunction<double>&, const CrossValidationOptions&);

}  // namespace lowrank
