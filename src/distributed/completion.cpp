// Distributed hard-rank ALS and soft-impute (ALS form); see
// include/lowrank/distributed/completion.hpp for the partition and why the
// results do not depend on the number of ranks.
#include "lowrank/distributed/completion.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "completion/detail.hpp"
#include "distributed/common.hpp"
#include "lowrank/completion/solver.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"

namespace lowrank::distributed {

namespace dd = distributed::detail;

namespace {

using Mat = Matrix<double>;
using Vec = Vector<double>;

// ---- the problem as spread over the ranks ----------------------------------

struct Problem {
  Index m = 0, n = 0;            // shape solved (after dropping empty rows / columns when asked)
  Index full_m = 0, full_n = 0;  // shape of the data
  std::int64_t nnz = 0;
  std::vector<Index> rb, cb;                                 // row and column block bounds
  dd::Block rows, cols;                                      // the two copies
  std::vector<std::int64_t> row_count, col_count;            // of the solved shape
  std::vector<std::int64_t> full_row_count, full_col_count;  // of the data
  std::vector<Index> row_old, col_old;                       // solved -> data index, when compacted
};

Problem setup(const dd::Comm& c, const ObservedEntries<double>& local, const std::string& what, bool compact) {
  Problem pb;
  long long dims[2] = {static_cast<long long>(local.rows), static_cast<long long>(local.cols)};
  long long lo[2], hi[2];
  MPI_Allreduce(dims, lo, 2, MPI_LONG_LONG, MPI_MIN, c.comm);
  MPI_Allreduce(dims, hi, 2, MPI_LONG_LONG, MPI_MAX, c.comm);
  std::string error;
  if (lo[0] != hi[0] || lo[1] != hi[1]) {
    error = what + ": the ranks disagree on the shape (rank " + std::to_string(c.rank) + " has " +
            std::to_string(local.rows) + " x " + std::to_string(local.cols) + ")";
  } else if (local.rows <= 0 || local.cols <= 0) {
    error = what + ": the matrix is empty (" + std::to_string(local.rows) + " x " + std::to_string(local.cols) + ")";
  } else if (local.rows > INT32_MAX || local.cols > INT32_MAX) {
    error = what + ": more than 2^31 - 1 rows or columns";
  } else if (local.row.size() != local.value.size() || local.col.size() != local.value.size()) {
    error = what + ": row, col and value arrays differ in length on rank " + std::to_string(c.rank);
  } else {
    for (std::size_t s = 0; s < local.value.size(); ++s) {
      if (local.row[s] < 0 || local.row[s] >= local.rows || local.col[s] < 0 || local.col[s] >= local.cols) {
        error = what + ": rank " + std::to_string(c.rank) + " entry " + std::to_string(s) + " at (" +
                std::to_string(local.row[s]) + ", " + std::to_string(local.col[s]) + ") is outside the " +
                std::to_string(local.rows) + " x " + std::to_string(local.cols) + " matrix";
        break;
      }
      if (!std::isfinite(local.value[s])) {
        error = what + ": rank " + std::to_string(c.rank) + " entry " + std::to_string(s) + " at (" +
                std::to_string(local.row[s]) + ", " + std::to_string(local.col[s]) + ") is not finite";
        break;
      }
    }
  }
  dd::agree(c, error);
  pb.full_m = local.rows;
  pb.full_n = local.cols;
  // Counts per row and column: integer sums, exact in any order.
  std::vector<std::int64_t> rc(static_cast<std::size_t>(pb.full_m), 0), cc(static_cast<std::size_t>(pb.full_n), 0);
  for (std::size_t s = 0; s < local.value.size(); ++s) {
    ++rc[static_cast<std::size_t>(local.row[s])];
    ++cc[static_cast<std::size_t>(local.col[s])];
  }
  pb.full_row_count.resize(rc.size());
  pb.full_col_count.resize(cc.size());
  MPI_Allreduce(rc.data(), pb.full_row_count.data(), static_cast<int>(rc.size()), MPI_INT64_T, MPI_SUM, c.comm);
  MPI_Allreduce(cc.data(), pb.full_col_count.data(), static_cast<int>(cc.size()), MPI_INT64_T, MPI_SUM, c.comm);
  pb.nnz = 0;
  for (const auto v : pb.full_row_count) pb.nnz += v;
  dd::agree(c, pb.nnz == 0 ? what + ": no observed entry" : std::string());

  std::vector<std::int32_t> row = local.row, col = local.col;
  const bool empty_any = std::count(pb.full_row_count.begin(), pb.full_row_count.end(), 0) > 0 ||
                         std::count(pb.full_col_count.begin(), pb.full_col_count.end(), 0) > 0;
  if (compact && empty_any) {
    // The same renumbering on every rank (it reads only the global counts).
    auto renumber = [](const std::vector<std::int64_t>& count, std::vector<Index>& old) {
      std::vector<std::int32_t> fresh(count.size(), -1);
      for (std::size_t i = 0; i < count.size(); ++i) {
        if (count[i] > 0) {
          fresh[i] = static_cast<std::int32_t>(old.size());
          old.push_back(static_cast<Index>(i));
        }
      }
      return fresh;
    };
    const auto rn = renumber(pb.full_row_count, pb.row_old);
    const auto cn = renumber(pb.full_col_count, pb.col_old);
    for (auto& i : row) i = rn[static_cast<std::size_t>(i)];
    for (auto& j : col) j = cn[static_cast<std::size_t>(j)];
    pb.m = static_cast<Index>(pb.row_old.size());
    pb.n = static_cast<Index>(pb.col_old.size());
    for (const Index i : pb.row_old) pb.row_count.push_back(pb.full_row_count[static_cast<std::size_t>(i)]);
    for (const Index j : pb.col_old) pb.col_count.push_back(pb.full_col_count[static_cast<std::size_t>(j)]);
  } else {
    pb.m = pb.full_m;
    pb.n = pb.full_n;
    pb.row_count = pb.full_row_count;
    pb.col_count = pb.full_col_count;
  }
  pb.rb = dd::block_bounds(pb.m, c.size);
  pb.cb = dd::block_bounds(pb.n, c.size);
  pb.rows = dd::to_block(c, row, col, local.value, pb.rb, false, pb.row_old, pb.col_old);
  pb.cols = dd::to_block(c, col, row, local.value, pb.cb, true, pb.col_old, pb.row_old);
  return pb;
}

void note_empty(const Problem& pb, CompletionResult<double>& result) {
  completion_detail::note_empty(pb.full_row_count, pb.full_col_count, result);
}

// ---- checkpoints ------------------------------------------------------------

constexpr char kMagic[8] = {'L', 'R', 'M', 'P', 'I', 'C', 'K', '1'};

struct Checkpoint {
  std::int64_t method = 0;  // 0 ALS, 1 soft-impute
  std::int64_t status = 0;  // ALS: 1 when the run had stopped after its last iteration
  std::int64_t m = 0, n = 0, k = 0, nnz = 0;
  std::vector<double> trace;
  std::vector<std::vector<double>> arrays;
};

void write_checkpoint(const std::string& path, const Checkpoint& ck) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(tmp, "cannot open the checkpoint for writing");
    auto put = [&](const void* p, std::size_t bytes) {
      out.write(static_cast<const char*>(p), static_cast<std::streamsize>(bytes));
    };
    put(kMagic, sizeof kMagic);
    const std::int64_t head[7] = {
        ck.method, ck.status, ck.m, ck.n, ck.k, ck.nnz, static_cast<std::int64_t>(ck.trace.size())};
    put(head, sizeof head);
    put(ck.trace.data(), ck.trace.size() * sizeof(double));
    const auto count = static_cast<std::int64_t>(ck.arrays.size());
    put(&count, sizeof count);
    for (const auto& a : ck.arrays) {
      const auto len = static_cast<std::int64_t>(a.size());
      put(&len, sizeof len);
      put(a.data(), a.size() * sizeof(double));
    }
    out.flush();
    if (!out) throw InputError(tmp, "writing the checkpoint failed (disk full?)");
  }
  std::filesystem::rename(tmp, path);  // atomic: a kill leaves the old or the new file
}

// Reads the checkpoint and checks it belongs to this problem; `sizes` are
// the expected array lengths.
Checkpoint read_checkpoint(const std::string& path, const Checkpoint& expect, const std::vector<std::size_t>& sizes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open the checkpoint");
  auto get = [&](void* p, std::size_t bytes, const char* what) {
    in.read(static_cast<char*>(p), static_cast<std::streamsize>(bytes));
    if (!in) throw InputError(path, std::string("truncated checkpoint (reading ") + what + ")");
  };
  char magic[8];
  get(magic, sizeof magic, "the magic number");
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) throw InputError(path, "not a lowrank MPI checkpoint");
  std::int64_t head[7];
  get(head, sizeof head, "the header");
  Checkpoint ck;
  ck.method = head[0];
  ck.status = head[1];
  ck.m = head[2];
  ck.n = head[3];
  ck.k = head[4];
  ck.nnz = head[5];
  const char* methods[2] = {"als", "soft-impute"};
  if (ck.method != expect.method || ck.m != expect.m || ck.n != expect.n || ck.k != expect.k || ck.nnz != expect.nnz) {
    throw InputError(path, "checkpoint of another problem: " + std::string(methods[ck.method == 1 ? 1 : 0]) + " " +
                               std::to_string(ck.m) + " x " + std::to_string(ck.n) + " rank " + std::to_string(ck.k) +
                               ", " + std::to_string(ck.nnz) + " entries; this run is " + methods[expect.method] + " " +
                               std::to_string(expect.m) + " x " + std::to_string(expect.n) + " rank " +
                               std::to_string(expect.k) + ", " + std::to_string(expect.nnz) + " entries");
  }
  if (head[6] < 0 || head[6] > 100000000) throw InputError(path, "bad trace length");
  ck.trace.resize(static_cast<std::size_t>(head[6]));
  get(ck.trace.data(), ck.trace.size() * sizeof(double), "the trace");
  std::int64_t count = 0;
  get(&count, sizeof count, "the array count");
  if (count != static_cast<std::int64_t>(sizes.size())) throw InputError(path, "wrong number of arrays");
  for (const std::size_t want : sizes) {
    std::int64_t len = 0;
    get(&len, sizeof len, "an array length");
    if (len != static_cast<std::int64_t>(want)) {
      throw InputError(path, "array of " + std::to_string(len) + " values where " + std::to_string(want) + " expected");
    }
    ck.arrays.emplace_back(want);
    get(ck.arrays.back().data(), want * sizeof(double), "an array");
  }
  return ck;
}

// Collective: every rank reads the file (a shared file system, or one per
// host); a failure on any rank is everyone's.
std::optional<Checkpoint> resume_from(const dd::Comm& c, const CheckpointOptions& o, const Checkpoint& expect,
                                      const std::vector<std::size_t>& sizes) {
  if (!o.resume || o.path.empty()) return std::nullopt;
  int exists = std::filesystem::exists(o.path) ? 1 : 0, all = 0;
  MPI_Allreduce(&exists, &all, 1, MPI_INT, MPI_MIN, c.comm);
  if (!all) {
    int any = 0;
    MPI_Allreduce(&exists, &any, 1, MPI_INT, MPI_MAX, c.comm);
    dd::agree(c, any && !exists ? "checkpoint " + o.path + " missing on rank " + std::to_string(c.rank) : std::string(),
              true);
    return std::nullopt;  // no rank has one: a fresh start
  }
  std::string error;
  Checkpoint ck;
  try {
    ck = read_checkpoint(o.path, expect, sizes);
  } catch (const std::exception& e) {
    error = e.what();
  }
  dd::agree(c, error, true);
  return ck;
}

void save(const dd::Comm& c, const CheckpointOptions& o, Checkpoint ck) {
  if (o.path.empty()) return;
  std::string error;
  if (c.rank == 0) {
    try {
      write_checkpoint(o.path, ck);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  dd::agree(c, error, true);
}

std::vector<double> to_vector(const double* p, Index size) { return std::vector<double>(p, p + size); }

// ---- hard-rank ALS ----------------------------------------------------------

// Every row of block `x` solved for its factor (and bias) with the other side
// fixed; the same normal equations as als.cpp's half_sweep:
//   (sum_j g_j g_j^T + diag(lambda w_i, .., bias_lambda w_i)) [p_i; b_i] = sum_j g_j (x_ij - mu - c_j),
// g_j = [q_j; 1]. `loss`, when given, receives each row's 1/2 sum of squared
// residuals at its new solution.
void solve_block(const dd::Block& x, const Mat& other_ft, const Vec& other_bias, const std::vector<double>& weight,
                 double mu, bool biases, double lambda, double bias_lambda, int threads, Mat& self_ft, Vec& self_bias,
                 std::vector<double>* loss) {
  const Index k = other_ft.rows();
  const Index kk = k + (biases ? 1 : 0);
  self_ft.setZero(k, x.count);
  self_bias.setZero(x.count);
  if (loss) loss->assign(static_cast<std::size_t>(x.count), 0.0);
  const double flops = static_cast<double>(x.nnz()) * double(kk * kk) + double(x.count) * double(kk * kk * kk);
#pragma omp parallel num_threads(threads) if (flops > 1e6)
  {
    Mat a(kk, kk), gm(kk, 0);
    Vec rhs(kk), sol(kk), yv, fit;
    Eigen::LLT<Mat> llt(kk);
    Eigen::LDLT<Mat> ldlt(kk);
#pragma omp for schedule(dynamic, 16)
    for (Index i = 0; i < x.count; ++i) {
      const auto begin = x.outer[static_cast<std::size_t>(i)], end = x.outer[static_cast<std::size_t>(i) + 1];
      if (begin == end) continue;  // the ridge makes the minimiser zero
      const Index deg = static_cast<Index>(end - begin);
      if (gm.cols() < deg) {
        gm.resize(kk, deg);
        yv.resize(deg);
        fit.resize(deg);
      }
      for (auto s = begin; s < end; ++s) {
        const Index j = x.inner[static_cast<std::size_t>(s)];
        const Index t = static_cast<Index>(s - begin);
        gm.col(t).head(k) = other_ft.col(j);
        if (biases) gm(k, t) = 1.0;
        yv(t) = x.value[static_cast<std::size_t>(s)] - (mu + (biases ? other_bias(j) : 0.0));
      }
      const auto g = gm.leftCols(deg);
      a.setZero();
      a.selfadjointView<Eigen::Lower>().rankUpdate(g);
      rhs.noalias() = g * yv.head(deg);
      const double w = weight[static_cast<std::size_t>(x.first + i)];
      completion_detail::solve_row_ridge(a, rhs, sol, k, biases, lambda * w, bias_lambda * w, llt, ldlt);
      self_ft.col(i) = sol.head(k);
      if (biases) self_bias(i) = sol(k);
      if (loss) {
        fit.head(deg).noalias() = g.transpose() * sol;
        double l = 0.0;
        for (Index t = 0; t < deg; ++t) l += 0.5 * (yv(t) - fit(t)) * (yv(t) - fit(t));
        (*loss)[static_cast<std::size_t>(i)] = l;
      }
    }
  }
}

void check_als(const AlsOptions& o, Index m, Index n) {
  check_als_options(o, m, n, "distributed als");
  if (o.robust) throw InvalidArgument("distributed als: robust ALS is not supported under MPI");
  if (o.init != AlsInitialization::Random) {
    throw InvalidArgument("distributed als: only the random initialisation is supported under MPI");
  }
}

// ---- soft-impute ------------------------------------------------------------

int numerical_rank(const Vec& d) {
  if (d.size() == 0) return 0;
  const double cut = d.maxCoeff() * 1e-10;
  return static_cast<int>((d.array() > cut).count());
}

// Y^T = (P_Omega(X - Z) restricted to this block)^T F for every line of
// `x`, Z_ij = a_i . b_j with at = A^T (r x lines' side), bt = B^T (r x other
// side): column i of the returned r x count block is sum_j s_ij f_j.
// loss[i] = 1/2 sum_j s_ij^2.
void residual_times(const dd::Block& x, const Mat& at, const Mat& bt, const Mat& ft, Mat* yt, std::vector<double>& loss,
                    int threads) {
  const Index r = at.rows();
  if (yt) yt->setZero(r, x.count);
  loss.assign(static_cast<std::size_t>(x.count), 0.0);
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads) if (x.nnz() * r > 200000)
  for (Index i = 0; i < x.count; ++i) {
    const Index gi = x.first + i;
    double l = 0.0;
    for (auto s = x.outer[static_cast<std::size_t>(i)]; s < x.outer[static_cast<std::size_t>(i) + 1]; ++s) {
      const Index j = x.inner[static_cast<std::size_t>(s)];
      const double res = x.value[static_cast<std::size_t>(s)] - at.col(gi).dot(bt.col(j));
      l += 0.5 * res * res;
      if (yt) yt->col(i).noalias() += res * ft.col(j);
    }
    loss[static_cast<std::size_t>(i)] = l;
  }
}

}  // namespace

CompletionResult<double> als(MPI_Comm comm, const ObservedEntries<double>& local, const AlsOptions& o,
                             const CheckpointOptions& checkpoint) {
  const dd::Comm c(comm);
  std::string error;
  try {
    check_als(o, local.rows, local.cols);
  } catch (const std::exception& e) {
    error = e.what();
  }
  dd::agree(c, error);
  Problem pb = setup(c, local, "distributed als", false);
  const Index m = pb.m, n = pb.n, k = o.rank;
  const int threads = completion_detail::thread_count(o.threads);
  CompletionResult<double> result;
  note_empty(pb, result);

  const bool biases = o.biases;
  const double lambda = o.lambda, bias_lambda = o.bias_lambda.value_or(o.lambda);
  // mu and the RMS about it: per-row partials added in row order.
  std::vector<double> part(static_cast<std::size_t>(pb.rows.count));
  for (Index i = 0; i < pb.rows.count; ++i) {
    double s = 0.0;
    for (auto t = pb.rows.outer[static_cast<std::size_t>(i)]; t < pb.rows.outer[static_cast<std::size_t>(i) + 1]; ++t)
      s += pb.rows.value[static_cast<std::size_t>(t)];
    part[static_cast<std::size_t>(i)] = s;
  }
  const double mean = dd::ordered_sum(c, part, pb.rb) / static_cast<double>(pb.nnz);
  double mu = biases ? mean : 0.0;
  for (Index i = 0; i < pb.rows.count; ++i) {
    double s = 0.0;
    for (auto t = pb.rows.outer[static_cast<std::size_t>(i)]; t < pb.rows.outer[static_cast<std::size_t>(i) + 1]; ++t)
      s += (pb.rows.value[static_cast<std::size_t>(t)] - mu) * (pb.rows.value[static_cast<std::size_t>(t)] - mu);
    part[static_cast<std::size_t>(i)] = s;
  }
  const double rms = std::sqrt(dd::ordered_sum(c, part, pb.rb) / static_cast<double>(pb.nnz));

  const bool freq = o.weighting == RegularizationWeighting::Frequency;
  std::vector<double> row_w(static_cast<std::size_t>(m)), col_w(static_cast<std::size_t>(n));
  for (Index i = 0; i < m; ++i)
    row_w[static_cast<std::size_t>(i)] = freq ? double(pb.row_count[static_cast<std::size_t>(i)]) : 1.0;
  for (Index j = 0; j < n; ++j)
    col_w[static_cast<std::size_t>(j)] = freq ? double(pb.col_count[static_cast<std::size_t>(j)]) : 1.0;

  // Full factors on every rank (k x count, transposed so a row's factor is a
  // contiguous column), the same random Q as als().
  Mat pt = Mat::Zero(k, m), qt(k, n);
  Vec rbias = Vec::Zero(m), cbias = Vec::Zero(n);
  completion_detail::fill_normal(qt, o.seed);
  qt *= std::sqrt(std::max(rms, 1e-12) / std::sqrt(static_cast<double>(k)));

  IterationMonitor monitor("als", o.tolerance, o.max_iterations, o.progress);
  Checkpoint shape;
  shape.method = 0;
  shape.m = m;
  shape.n = n;
  shape.k = k;
  shape.nnz = pb.nnz;
  const std::vector<std::size_t> sizes = {static_cast<std::size_t>(k * n), static_cast<std::size_t>(n),
                                          static_cast<std::size_t>(k * m), static_cast<std::size_t>(m), 1};
  Status status = Status::Success;
  bool done = false;
  if (auto ck = resume_from(c, checkpoint, shape, sizes)) {
    qt = Eigen::Map<const Mat>(ck->arrays[0].data(), k, n);
    cbias = Eigen::Map<const Vec>(ck->arrays[1].data(), n);
    pt = Eigen::Map<const Mat>(ck->arrays[2].data(), k, m);
    rbias = Eigen::Map<const Vec>(ck->arrays[3].data(), m);
    mu = ck->arrays[4][0];
    monitor.resume(ck->trace);
    // A run that had converged stays converged; one stopped by a cap or
    // Ctrl-C goes on while the (new) cap allows.
    const double last = relative_change(ck->trace.size() > 1 ? ck->trace[ck->trace.size() - 2]
                                                             : std::numeric_limits<double>::infinity(),
                                        ck->trace.empty() ? 0.0 : ck->trace.back());
    if (!ck->trace.empty() && last < o.tolerance) {
      done = true;
    } else if (static_cast<int>(ck->trace.size()) >= o.max_iterations) {
      done = true;
      status = Status::NotConverging;
    }
  }

  Mat block_ft;
  Vec block_bias;
  std::vector<double> col_loss;
  while (!done) {
    solve_block(pb.rows, qt, cbias, row_w, mu, biases, lambda, bias_lambda, threads, block_ft, block_bias, nullptr);
    dd::gather_blocks(c, block_ft.data(), pt.data(), pb.rb, k);
    dd::gather_blocks(c, block_bias.data(), rbias.data(), pb.rb, 1);
    solve_block(pb.cols, pt, rbias, col_w, mu, biases, lambda, bias_lambda, threads, block_ft, block_bias, &col_loss);
    dd::gather_blocks(c, block_ft.data(), qt.data(), pb.cb, k);
    dd::gather_blocks(c, block_bias.data(), cbias.data(), pb.cb, 1);
    const double loss = dd::ordered_sum(c, col_loss, pb.cb);
    // Penalties over the full factors, in index order (as als.cpp's objective).
    double reg = 0.0, breg = 0.0;
    for (Index i = 0; i < m; ++i) {
      reg += row_w[static_cast<std::size_t>(i)] * pt.col(i).squaredNorm();
      if (biases) breg += row_w[static_cast<std::size_t>(i)] * rbias(i) * rbias(i);
    }
    for (Index j = 0; j < n; ++j) {
      reg += col_w[static_cast<std::size_t>(j)] * qt.col(j).squaredNorm();
      if (biases) breg += col_w[static_cast<std::size_t>(j)] * cbias(j) * cbias(j);
    }
    const double f = loss + 0.5 * lambda * reg + 0.5 * bias_lambda * breg;
    const auto stop = monitor.step_interruptible(f, static_cast<int>(k), dd::any_interrupt(c));
    Checkpoint ck = shape;
    ck.trace = monitor.trace();
    ck.arrays = {to_vector(qt.data(), k * n),
                 to_vector(cbias.data(), n),
                 to_vector(pt.data(), k * m),
                 to_vector(rbias.data(), m),
                 {mu}};
    save(c, checkpoint, std::move(ck));
    if (stop) {
      status = *stop;
      break;
    }
  }

  CompletionModel<double>& model = result.model;
  model.rows = m;
  model.cols = n;
  const Mat p = pt.transpose(), q = qt.transpose();
  completion_detail::product_to_svd(p, q, model.U, model.d, model.V);
  if (biases) {
    model.global_offset = mu;
    model.row_offset = rbias;
    model.col_offset = cbias;
  }
  result.iterations = monitor.iterations();
  result.elapsed_s = monitor.elapsed_s();
  result.objective_trace = monitor.take_trace();
  result.status = status;
  result.lambda = o.lambda;
  return result;
}

CompletionResult<double> soft_impute(MPI_Comm comm, const ObservedEntries<double>& local, const SoftImputeOptions& o,
                                     const CheckpointOptions& checkpoint) {
  const dd::Comm c(comm);
  std::string error;
  if (!(o.lambda >= 0.0) || !std::isfinite(o.lambda)) {
    error = "distributed soft_impute: lambda must be >= 0 (got " + std::to_string(o.lambda) + ")";
  } else if (o.max_rank < 1) {
    error = "distributed soft_impute: max_rank must be >= 1 (got " + std::to_string(o.max_rank) + ")";
  } else if (o.variant != SoftImputeVariant::Als) {
    error = "distributed soft_impute: only the ALS variant is supported under MPI";
  } else if (o.scaling || o.debias) {
    error = "distributed soft_impute: scaling and debias are not supported under MPI";
  } else {
    try {
      check_iteration_options("distributed soft_impute", o.tolerance, o.max_iterations);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  dd::agree(c, error);
  Problem pb = setup(c, local, "distributed soft_impute", true);
  const Index m = pb.m, n = pb.n;
  const Index r = std::min({o.max_rank, m, n});
  const int threads = completion_detail::thread_count(o.threads);
  const double lambda = o.lambda;

  // Hastie, Mazumder, Lee, Zadeh (2015) Alg. 3.1 as soft_impute.cpp's
  // als_variant, with U, d, V whole on every rank.
  Mat U = completion_detail::random_orthonormal<double>(m, r, o.seed);
  Mat V = Mat::Zero(n, r);
  Vec d = Vec::Ones(r);
  IterationMonitor monitor("soft-impute-als", o.tolerance, o.max_iterations, o.progress);
  Checkpoint shape;
  shape.method = 1;
  shape.m = m;
  shape.n = n;
  shape.k = r;
  shape.nnz = pb.nnz;
  const std::vector<std::size_t> sizes = {static_cast<std::size_t>(m * r), static_cast<std::size_t>(r),
                                          static_cast<std::size_t>(n * r)};
  bool first = true;
  if (auto ck = resume_from(c, checkpoint, shape, sizes)) {
    U = Eigen::Map<const Mat>(ck->arrays[0].data(), m, r);
    d = Eigen::Map<const Vec>(ck->arrays[1].data(), r);
    V = Eigen::Map<const Mat>(ck->arrays[2].data(), n, r);
    monitor.resume(ck->trace);
    first = false;
  }
  std::vector<double> loss_part;
  // S^T U (n x r) and the loss of Z = U D V^T, by column blocks.
  auto residual_t_times_u = [&](Mat& out) {
    const Mat vdt = (V * d.asDiagonal()).transpose(), ut = U.transpose();
    Mat block, all(r, n);
    residual_times(pb.cols, vdt, ut, ut, &block, loss_part, threads);
    dd::gather_blocks(c, block.data(), all.data(), pb.cb, r);
    out = all.transpose();
    return dd::ordered_sum(c, loss_part, pb.cb);
  };
  // S V (m x r), or only the loss, by row blocks.
  auto residual_times_v = [&](Mat* out) {
    const Mat udt = (U * d.asDiagonal()).transpose(), vt = V.transpose();
    Mat block, all(r, m);
    residual_times(pb.rows, udt, vt, vt, out ? &block : nullptr, loss_part, threads);
    if (out) {
      dd::gather_blocks(c, block.data(), all.data(), pb.rb, r);
      *out = all.transpose();
    }
    return dd::ordered_sum(c, loss_part, pb.rb);
  };
  auto objective = [&](double loss) { return loss + lambda * d.sum(); };

  Mat b, a, w, rot;
  Vec sv;
  Status status = Status::Success;
  for (;; first = false) {
    const double loss = residual_t_times_u(b);
    if (!first) {
      if (auto stop = monitor.step_interruptible(objective(loss), numerical_rank(d), dd::any_interrupt(c))) {
        status = *stop;
        break;
      }
    }
    b.noalias() += V * d.asDiagonal();
    if (lambda > 0) b = b * (d.array() / (d.array() + lambda)).matrix().asDiagonal();
    completion_detail::thin_svd(b, w, sv, rot);
    V = w;
    d = sv;
    U = U * rot;
    residual_times_v(&a);
    a.noalias() += U * d.asDiagonal();
    if (lambda > 0) a = a * (d.array() / (d.array() + lambda)).matrix().asDiagonal();
    completion_detail::thin_svd(a, w, sv, rot);
    U = w;
    d = sv;
    V = V * rot;
    // The state the next iteration starts from; its objective is stepped at
    // the top of that iteration, also after a resume.
    Checkpoint ck = shape;
    ck.trace = monitor.trace();
    ck.arrays = {to_vector(U.data(), m * r), to_vector(d.data(), r), to_vector(V.data(), n * r)};
    save(c, checkpoint, std::move(ck));
  }
  CompletionResult<double> result;
  result.iterations = monitor.iterations();
  std::vector<double> trace = monitor.take_trace();
  if (o.final_svd && lambda > 0 && status != Status::NumericalIssue) {
    residual_times_v(&a);
    a.noalias() += U * d.asDiagonal();
    completion_detail::thin_svd(a, w, sv, rot);
    U = w;
    V = V * rot;
    d = sv;
    soft_threshold(d, lambda);
    trace.push_back(objective(residual_times_v(nullptr)));
  }
  result.elapsed_s = monitor.elapsed_s();
  result.objective_trace = std::move(trace);
  result.status = status;
  result.lambda = o.lambda;
  note_empty(pb, result);

  CompletionModel<double>& model = result.model;
  model.rows = pb.full_m;
  model.cols = pb.full_n;
  const int keep = numerical_rank(d) == 0 ? 0 : static_cast<int>((d.array() > 0).count());
  model.d = d.head(keep);
  if (pb.row_old.empty() && pb.col_old.empty()) {
    model.U = U.leftCols(keep);
    model.V = V.leftCols(keep);
  } else {
    model.U = Mat::Zero(pb.full_m, keep);
    model.V = Mat::Zero(pb.full_n, keep);
    for (Index i = 0; i < m; ++i) model.U.row(pb.row_old[static_cast<std::size_t>(i)]) = U.row(i).head(keep);
    for (Index j = 0; j < n; ++j) model.V.row(pb.col_old[static_cast<std::size_t>(j)]) = V.row(j).head(keep);
  }
  return result;
}

}  // namespace lowrank::distributed
