#include "lowrank/completion/als.hpp"
#include "lowrank/core/detail/serial_blas.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "completion/detail.hpp"
#include "lowrank/completion/solver.hpp"
#include "lowrank/linalg/operator.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank {

const char* to_string(RegularizationWeighting weighting) noexcept {
  return weighting == RegularizationWeighting::Uniform ? "uniform" : "frequency";
}

RegularizationWeighting parse_regularization_weighting(std::string_view name) {
  if (name == "frequency") return RegularizationWeighting::Frequency;
  if (name == "uniform") return RegularizationWeighting::Uniform;
  throw InvalidArgument("ALS weighting must be 'frequency' or 'uniform', got '" + std::string(name) + "'");
}

const char* to_string(AlsInitialization init) noexcept {
  return init == AlsInitialization::Spectral ? "spectral" : "random";
}

AlsInitialization parse_als_initialization(std::string_view name) {
  if (name == "random") return AlsInitialization::Random;
  if (name == "spectral") return AlsInitialization::Spectral;
  throw InvalidArgument("ALS initialisation must be 'random' or 'spectral', got '" + std::string(name) + "'");
}

namespace {

using completion_detail::thread_count;

template <class T>
T huber(T r, T c) {
  const T a = std::abs(r);
  return a <= c ? T(0.5) * r * r : c * a - T(0.5) * c * c;
}

// State of one side of the factorisation: factors stored transposed (k x
// count) so each row's factor is a contiguous column, plus its biases.
template <class T>
struct Side {
  Matrix<T> ft;           // k x count
  Vector<T> bias;         // count (zeros when biases are off)
  std::vector<T> weight;  // regularisation weight w_i
};

// Solves every row of `x` (CSR, rows = this side) for its factor (and bias),
// the other side fixed:
//   (sum_j g_j g_j^T + diag(lambda w_i, .., bias_lambda w_i)) [p_i; b_i] = sum_j g_j y_ij,
//   g_j = [q_j; 1],  y_ij = x~_ij - mu - c_j,
// with x~ = x (plain) or fit + clip(x - fit, -c, c) (robust).
//
// When `loss_out` is given (the second half-sweep of an iteration), the loss
// of each row at its new solution, sum_j loss(x_ij - fit_ij), is written to
// (*loss_out)[i] from the regressors already gathered, which saves a separate
// residual pass over Omega for the objective; summed later in row order so
// the objective does not depend on the thread schedule.
template <class T>
void half_sweep(const completion_detail::SparseView<T>& x, Side<T>& self, const Side<T>& other, T mu, bool biases,
                T lambda, T bias_lambda, T clip, int threads, std::vector<double>* loss_out = nullptr) {
  const Index k = self.ft.rows();
  const Index kk = k + (biases ? 1 : 0);
  const std::int32_t* outer = x.outer;
  const bool clipping = std::isfinite(clip);
  // Threads only pay off beyond ~1 Mflop per sweep; below that, waking a
  // team (on a busy machine) costs more than the work.
  const double flops = static_cast<double>(outer[x.last] - outer[x.first]) * double(kk * kk) +
                       double(x.last - x.first) * double(kk * kk * kk);
#pragma omp parallel num_threads(threads) if (flops > 1e6)
  {
    Matrix<T> a(kk, kk);
    Vector<T> rhs(kk), sol(kk);
    // The row's regressors side by side, so that A = G G^T is one
    // rank-|Omega_i| update (syrk) instead of |Omega_i| rank-1 updates.
    Matrix<T> gm(kk, 0);
    Vector<T> yv, yraw, fit;
    Eigen::LLT<Matrix<T>> llt(kk);
    Eigen::LDLT<Matrix<T>> ldlt(kk);
#pragma omp for schedule(dynamic, 16)
    for (Index i = x.first; i < x.last; ++i) {
      const Index begin = outer[i], end = outer[i + 1];
      if (begin == end) {  // no observation: the ridge makes the minimiser zero
        self.ft.col(i).setZero();
        if (biases) self.bias(i) = T(0);
        if (loss_out) (*loss_out)[static_cast<std::size_t>(i)] = 0.0;
        continue;
      }
      auto p_i = self.ft.col(i);
      const T b_i = biases ? self.bias(i) : T(0);
      const Index deg = end - begin;
      if (gm.cols() < deg) {
        gm.resize(kk, deg);
        yv.resize(deg);
        yraw.resize(deg);
        fit.resize(deg);
      }
      for (Index s = begin; s < end; ++s) {
        // The other side's factor is a random gather (16 MB for 10^5 rows at
        // k = 20): fetch the one eight entries ahead while this one is copied.
        if (s + 8 < end) {
          const T* ahead = other.ft.data() + x.index(s + 8) * k;
          for (Index off = 0; off < k; off += Index(64 / sizeof(T))) __builtin_prefetch(ahead + off);
        }
        const Index j = x.index(s);
        const Index t = s - begin;
        gm.col(t).head(k) = other.ft.col(j);
        if (biases) gm(k, t) = T(1);
        const T offset = mu + (biases ? other.bias(j) : T(0));
        T y = x.at(s) - offset;
        if (clipping) {
          yraw(t) = y;  // the loss is on the raw residual, the solve on the clipped one
          const T fit_lr = b_i + p_i.dot(other.ft.col(j));  // fit minus offset
          y = fit_lr + std::clamp(y - fit_lr, -clip, clip);
        }
        yv(t) = y;
      }
      const auto g = gm.leftCols(deg);
      a.setZero();
      a.template selfadjointView<Eigen::Lower>().rankUpdate(g);  // lower triangle of G G^T
      rhs.noalias() = g * yv.head(deg);
      const T w = self.weight[static_cast<std::size_t>(i)];
      // Cholesky (lower triangle only) is the cheap path for the SPD system;
      // LDLT with pivoting takes over if a zero ridge left it semidefinite.
      completion_detail::solve_row_ridge(a, rhs, sol, k, biases, T(lambda * w), T(bias_lambda * w), llt, ldlt);
      p_i = sol.head(k);
      if (biases) self.bias(i) = sol(k);
      if (loss_out) {
        fit.head(deg).noalias() = g.transpose() * sol;
        const Vector<T>& y_loss = clipping ? yraw : yv;
        double l = 0.0;
        for (Index t = 0; t < deg; ++t) {
          const T r = y_loss(t) - fit(t);
          l += clipping ? static_cast<double>(huber(r, clip)) : 0.5 * static_cast<double>(r) * static_cast<double>(r);
        }
        (*loss_out)[static_cast<std::size_t>(i)] = l;
      }
    }
  }
}

// Residuals x_ij - mu - b_i - c_j - p_i^T q_j over the observed entries, in
// CSR order of x (rows = row side).
template <class T>
void residuals(const completion_detail::SparseView<T>& x, const Side<T>& rows, const Side<T>& cols, T mu, bool biases,
               std::vector<T>& out, int threads) {
  out.resize(static_cast<std::size_t>(x.nnz()));
  const std::int32_t* outer = x.outer;
  const double flops = static_cast<double>(x.nnz()) * static_cast<double>(rows.ft.rows() + 2);
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads) if (flops > 1e6)
  for (Index i = 0; i < x.count; ++i) {
    for (Index s = outer[i]; s < outer[i + 1]; ++s) {
      const Index j = x.index(s);
      T fit = mu + rows.ft.col(i).dot(cols.ft.col(j));
      if (biases) fit += rows.bias(i) + cols.bias(j);
      out[static_cast<std::size_t>(s)] = x.at(s) - fit;
    }
  }
}

// F from the per-column losses of the last half-sweep plus the penalties.
template <class T>
double objective(const std::vector<double>& col_loss, const Side<T>& rows, const Side<T>& cols, bool biases,
                 double lambda, double bias_lambda) {
  double loss = 0.0;
  for (const double l : col_loss) loss += l;
  double reg = 0.0, breg = 0.0;
  for (const Side<T>* side : {&rows, &cols}) {
    for (Index i = 0; i < side->ft.cols(); ++i) {
      const double w = static_cast<double>(side->weight[static_cast<std::size_t>(i)]);
      reg += w * static_cast<double>(side->ft.col(i).squaredNorm());
      if (biases) breg += w * static_cast<double>(side->bias(i)) * static_cast<double>(side->bias(i));
    }
  }
  return loss + 0.5 * lambda * reg + 0.5 * bias_lambda * breg;
}

// Spectral start, the initialisation of alternating minimisation for
// completion (Jain, Netrapalli, Sanghavi 2013, Algorithm 2 step 2; Keshavan,
// Montanari, Oh 2010): with p = |Omega| / (m n), P_Omega(X - mu) / p is an
// unbiased estimate of the full matrix, and its top-k right singular vectors,
// scaled by sqrt(sigma_i / p), give a Q from which the first half-sweep
// already solves the rows near the truth. A rough SVD suffices (one power
// iteration): from a random Q, ALS spends its first sweeps finding the
// subspace (five sweeps on the 10^7-entry benchmark, docs/benchmarks.md).
template <class T>
void spectral_start(const ObservedEntries<T>& data, T mu, Index k, std::uint64_t seed, Matrix<T>& qt) {
  // The operator of X - mu lives only during this SVD (the sweeps use the
  // leaner CSR pair built after it).
  std::vector<T> centred(data.value.size());
  for (std::size_t s = 0; s < centred.size(); ++s) centred[s] = data.value[s] - mu;
  const SparseOperator<T> x(data.rows, data.cols, data.row, data.col, centred);
  std::vector<T>().swap(centred);
  TruncatedSvdOptions so;
  so.method = SvdMethod::Randomized;
  so.power_iterations = 1;
  so.seed = seed;
  SvdResult<T> svd = truncated_svd(x, k, so);
  const double p = static_cast<double>(data.nnz()) / (static_cast<double>(x.rows()) * static_cast<double>(x.cols()));
  const Index r = svd.S.size();
  qt.setZero();
  for (Index c = 0; c < r; ++c) {
    const T scale = static_cast<T>(std::sqrt(std::max(static_cast<double>(svd.S(c)), 0.0) / p));
    qt.row(c) = scale * svd.V.col(c).transpose();
  }
  // Where X has rank < k the trailing singular values are zero up to
  // rounding and their directions arbitrary: start those random, at 1e-3 of
  // the leading direction's entry scale, so no regressor is (nearly) zero.
  const T negligible =
      (r > 0 ? svd.S(0) : T(0)) * std::numeric_limits<T>::epsilon() * static_cast<T>(std::max(x.rows(), x.cols()));
  Index kept = 0;
  while (kept < r && svd.S(kept) > negligible) ++kept;
  if (kept < k) {
    Matrix<T> noise(k, x.cols());
    completion_detail::fill_normal(noise, seed + 1);
    const T floor_scale =
        static_cast<T>(1e-3) * (kept > 0 ? qt.row(0).norm() / std::sqrt(static_cast<T>(x.cols())) : T(1));
    qt.bottomRows(k - kept) = floor_scale * noise.bottomRows(k - kept);
  }
}

// c = factor * 1.4826 * median |r| (MAD about zero), floored so a perfect
// fit does not clip everything.
template <class T>
T estimate_clip(const std::vector<T>& resid, double factor, T floor_value) {
  std::vector<T> a(resid.size());
  for (std::size_t s = 0; s < resid.size(); ++s) a[s] = std::abs(resid[s]);
  auto mid = a.begin() + static_cast<std::ptrdiff_t>(a.size() / 2);
  std::nth_element(a.begin(), mid, a.end());
  const T c = static_cast<T>(factor * 1.4826) * *mid;
  return std::max(c, floor_value);
}

// als() and als_in_place(): `own` is the caller's entries when the solver
// may store its matrix in their arrays (then own == &data).
template <class T>
AlsResult<T> run_als(const ObservedEntries<T>& data, ObservedEntries<T>* own, const AlsOptions& o,
                     const CompletionModel<T>* warm_start) {
  completion_detail::check_entries(data, "als");
  check_als_options(o, data.rows, data.cols);
  const Index m = data.rows, n = data.cols, k = o.rank;
  if (warm_start && (warm_start->rows != m || warm_start->cols != n)) {
    throw InvalidArgument("als: warm start is " + std::to_string(warm_start->rows) + " x " +
                          std::to_string(warm_start->cols) + " but the data are " + std::to_string(m) + " x " +
                          std::to_string(n));
  }
  const int threads = thread_count(o.threads);
  // Per-row solves run in OpenMP; BLAS serial meanwhile (detail/serial_blas.hpp).
  const detail::SerialBlasScope serial_blas;

  AlsResult<T> result;
  std::vector<std::int64_t> row_count, col_count;
  completion_detail::count_observations(data, row_count, col_count);
  completion_detail::note_empty(row_count, col_count, result);

  const bool biases = o.biases;
  const T lambda = static_cast<T>(o.lambda);
  const T bias_lambda = static_cast<T>(o.bias_lambda.value_or(o.lambda));
  double mean = 0.0, sq = 0.0;
  for (const T v : data.value) mean += static_cast<double>(v);
  mean /= static_cast<double>(data.value.size());
  T mu = biases ? static_cast<T>(mean) : T(0);
  for (const T v : data.value)
    sq += (static_cast<double>(v) - static_cast<double>(mu)) * (static_cast<double>(v) - static_cast<double>(mu));
  const double rms = std::sqrt(sq / static_cast<double>(data.value.size()));

  Side<T> rows, cols;
  rows.ft = Matrix<T>::Zero(k, m);
  rows.bias = Vector<T>::Zero(m);
  cols.bias = Vector<T>::Zero(n);
  rows.weight.resize(static_cast<std::size_t>(m));
  cols.weight.resize(static_cast<std::size_t>(n));
  const bool freq = o.weighting == RegularizationWeighting::Frequency;
  for (Index i = 0; i < m; ++i)
    rows.weight[static_cast<std::size_t>(i)] = freq ? static_cast<T>(row_count[static_cast<std::size_t>(i)]) : T(1);
  for (Index j = 0; j < n; ++j)
    cols.weight[static_cast<std::size_t>(j)] = freq ? static_cast<T>(col_count[static_cast<std::size_t>(j)]) : T(1);

  cols.ft.resize(k, n);
  if (o.init == AlsInitialization::Spectral && !(warm_start && warm_start->rank() > 0)) {
    spectral_start(data, mu, k, o.seed, cols.ft);
  } else {
    // Random Q: N(0, a^2) with a^2 sqrt(k) = rms, so p^T q starts on the data's scale.
    completion_detail::fill_normal(cols.ft, o.seed);
    cols.ft *= static_cast<T>(std::sqrt(std::max(rms, 1e-12) / std::sqrt(static_cast<double>(k))));
  }
  if (warm_start && warm_start->rank() > 0) {
    const Index r = std::min(k, warm_start->rank());
    const Vector<T> sq_d = warm_start->d.head(r).cwiseSqrt();
    cols.ft.topRows(r) = (warm_start->V.leftCols(r) * sq_d.asDiagonal()).transpose();
    rows.ft.topRows(r) = (warm_start->U.leftCols(r) * sq_d.asDiagonal()).transpose();
    if (biases) {
      mu = warm_start->global_offset;
      if (warm_start->row_offset.size() == m) rows.bias = warm_start->row_offset;
      if (warm_start->col_offset.size() == n) cols.bias = warm_start->col_offset;
    }
  }

  // X stored once: a CSR, the column half-sweep reading a chunk of its CSC
  // at a time (detail.hpp), in the
  // caller's arrays (in place) or a copy's; throws on duplicate pairs.
  ObservedEntries<T> copy;
  ObservedEntries<T>* x = own;
  if (!own) {
    copy.rows = m;
    copy.cols = n;
    copy.row = data.row;
    copy.col = data.col;
    copy.value = data.value;
    x = &copy;
  }
  completion_detail::ObservedMatrix<T> mat = completion_detail::take_entries(*x);
  struct GiveBack {
    completion_detail::ObservedMatrix<T>& m;
    ObservedEntries<T>& e;
    ~GiveBack() { completion_detail::give_back(m, e); }
  } give_back{mat, *x};
  const completion_detail::SparseView<T> x_rows = mat.by_rows();

  const T inf = std::numeric_limits<T>::infinity();
  const bool auto_clip = o.robust && o.clip_threshold == 0.0;
  T clip = o.robust && !auto_clip ? static_cast<T>(o.clip_threshold) : inf;
  const T clip_floor = static_cast<T>(1e-8 * std::max(rms, 1e-300));
  IterationMonitor monitor(o.robust ? "robust-als" : "als", o.tolerance, o.max_iterations, o.progress);
  std::vector<T> resid;
  std::vector<double> col_loss(static_cast<std::size_t>(n), 0.0);
  Status status = Status::Success;
  for (int iter = 1;; ++iter) {
    if (auto_clip && iter >= 2 && iter <= 1 + o.scale_iterations) {
      residuals(x_rows, rows, cols, mu, biases, resid, threads);
      clip = estimate_clip(resid, o.clip_factor, clip_floor);
    }
    monitor.set_convergence_allowed(!auto_clip || iter >= 2 + o.scale_iterations);
    half_sweep(x_rows, rows, cols, mu, biases, lambda, bias_lambda, clip, threads);
    completion_detail::for_each_column_chunk<T>(mat, 1, threads, [&](const completion_detail::SparseView<T>& x_cols) {
      half_sweep(x_cols, cols, rows, mu, biases, lambda, bias_lambda, clip, threads, &col_loss);
    });
    const double f = objective(col_loss, rows, cols, biases, o.lambda, o.bias_lambda.value_or(o.lambda));
    if (auto stop = monitor.step(f, static_cast<int>(k))) {
      status = *stop;
      break;
    }
  }

  CompletionModel<T>& model = result.model;
  model.rows = m;
  model.cols = n;
  Matrix<T> p = rows.ft.transpose(), q = cols.ft.transpose();
  rows.ft = Matrix<T>();  // done with: at most two m x k blocks from here (issue 32)
  cols.ft = Matrix<T>();
  completion_detail::product_to_svd(std::move(p), std::move(q), model.U, model.d, model.V);
  if (biases) {
    model.global_offset = mu;
    model.row_offset = rows.bias;
    model.col_offset = cols.bias;
  }
  result.iterations = monitor.iterations();
  result.elapsed_s = monitor.elapsed_s();
  result.objective_trace = monitor.take_trace();
  result.status = status;
  result.lambda = o.lambda;
  result.clip_threshold = std::isfinite(clip) ? static_cast<double>(clip) : 0.0;
  return result;
}

}  // namespace

template <class T>
AlsResult<T> als(const ObservedEntries<T>& data, const AlsOptions& o, const CompletionModel<T>* warm_start) {
  return run_als(data, static_cast<ObservedEntries<T>*>(nullptr), o, warm_start);
}

template <class T>
AlsResult<T> als_in_place(ObservedEntries<T>& data, const AlsOptions& o, const CompletionModel<T>* warm_start) {
  return run_als(data, &data, o, warm_start);
}

template AlsResult<float> als_in_place<float>(ObservedEntries<float>&, const AlsOptions&,
                                              const CompletionModel<float>*);
template AlsResult<double> als_in_place<double>(ObservedEntries<double>&, const AlsOptions&,
                                                const CompletionModel<double>*);
template AlsResult<float> als<float>(const ObservedEntries<float>&, const AlsOptions&, const CompletionModel<float>*);
template AlsResult<double> als<double>(const ObservedEntries<double>&, const AlsOptions&,
                                       const CompletionModel<double>*);

void check_als_options(const AlsOptions& o, Index m, Index n, std::string_view who) {
  const std::string w(who);
  const Index cap = std::min(m, n);
  if (o.rank < 1 || o.rank > cap) {
    throw InvalidArgument(w + ": rank must be in [1, min(m, n)] = [1, " + std::to_string(cap) + "] (got " +
                          std::to_string(o.rank) + ")");
  }
  if (!(o.lambda >= 0.0) || !std::isfinite(o.lambda)) {
    throw InvalidArgument(w + ": lambda must be >= 0 (got " + std::to_string(o.lambda) + ")");
  }
  if (o.bias_lambda && (!(*o.bias_lambda >= 0.0) || !std::isfinite(*o.bias_lambda))) {
    throw InvalidArgument(w + ": bias_lambda must be >= 0 (got " + std::to_string(*o.bias_lambda) + ")");
  }
  if (o.robust) {
    if (!(o.clip_factor > 0.0)) {
      throw InvalidArgument(w + ": clip_factor must be > 0 (got " + std::to_string(o.clip_factor) + ")");
    }
    if (!(o.clip_threshold >= 0.0)) {
      throw InvalidArgument(w + ": clip_threshold must be >= 0 (got " + std::to_string(o.clip_threshold) + ")");
    }
    if (o.scale_iterations < 0) {
      throw InvalidArgument(w + ": scale_iterations must be >= 0 (got " + std::to_string(o.scale_iterations) + ")");
    }
  }
  check_iteration_options(who, o.tolerance, o.max_iterations);
}

}  // namespace lowrank
