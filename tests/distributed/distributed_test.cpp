// Distributed completion and SVD (src/distributed), run as
//   mpirun --oversubscribe -np 4 test_distributed
// Each test runs the same problem on 1, 2 and 4 ranks (sub-communicators of
// the world) and compares, on world rank 0, with each other and with the
// single-process call on the whole data.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <Eigen/SVD>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "lowrank/completion/als.hpp"
#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/distributed/completion.hpp"

namespace lowrank {
namespace {

namespace fs = std::filesystem;
using Mat = Matrix<double>;

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// The first p ranks of the world (MPI_COMM_NULL on the others).
MPI_Comm first_ranks(int p) {
  MPI_Comm sub;
  MPI_Comm_split(MPI_COMM_WORLD, world_rank() < p ? 0 : MPI_UNDEFINED, world_rank(), &sub);
  return sub;
}

// Planted rank-r m x n matrix plus noise, `frac` of it observed.
struct Planted {
  ObservedEntries<double> observed, held_out;
  Mat truth;
};
Planted planted(Index m, Index n, Index r, double frac, double noise, std::uint64_t seed, Index empty_row = -1) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u;
  Mat a(m, r), b(n, r);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = g(gen);
  for (Index i = 0; i < b.size(); ++i) b.data()[i] = g(gen);
  Planted p;
  p.truth = a * b.transpose() + Mat::Constant(m, n, 3.0);
  p.observed.rows = p.held_out.rows = m;
  p.observed.cols = p.held_out.cols = n;
  for (Index i = 0; i < m; ++i) {
    for (Index j = 0; j < n; ++j) {
      const double v = p.truth(i, j) + noise * g(gen);
      if (u(gen) < frac && i != empty_row) p.observed.push_back(int(i), int(j), v);
      else p.held_out.push_back(int(i), int(j), p.truth(i, j));
    }
  }
  return p;
}

// This rank's share: a scatter unrelated to the row / column blocks, so the
// redistribution is exercised.
ObservedEntries<double> share(const ObservedEntries<double>& all, MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  ObservedEntries<double> out;
  out.rows = all.rows;
  out.cols = all.cols;
  for (std::size_t s = 0; s < all.nnz(); ++s)
    if (static_cast<int>((s * 7 + 3) % static_cast<std::size_t>(size)) == rank)
      out.push_back(all.row[s], all.col[s], all.value[s]);
  return out;
}

double rel_diff(const Mat& a, const Mat& b) { return (a - b).norm() / std::max(b.norm(), 1e-300); }

std::vector<int> rank_counts() {
  std::vector<int> ps;
  for (int p : {1, 2, 4})
    if (p <= world_size()) ps.push_back(p);
  return ps;
}

// Runs fit(comm, local) on 1, 2, 4 ranks; the dense completions on rank 0.
template <class Fit>
std::map<int, CompletionResult<double>> on_each_count(const ObservedEntries<double>& data, const Fit& fit) {
  std::map<int, CompletionResult<double>> out;
  for (int p : rank_counts()) {
    MPI_Comm sub = first_ranks(p);
    if (sub != MPI_COMM_NULL) {
      CompletionResult<double> r = fit(sub, share(data, sub));
      if (world_rank() == 0) out[p] = std::move(r);
      MPI_Comm_free(&sub);
    }
  }
  return out;
}

TEST(DistributedAls, SameOnOneTwoFourRanksAndAsSingleProcess) {
  const Planted pl = planted(60, 45, 3, 0.4, 0.01, 11);
  AlsOptions o;
  o.rank = 3;
  o.lambda = 0.02;
  o.biases = true;
  o.tolerance = 0.0;  // all iterations, so every run does the same work
  o.max_iterations = 15;
  o.seed = 5;
  o.threads = 1;
  const auto dist = on_each_count(pl.observed, [&](MPI_Comm c, const ObservedEntries<double>& local) {
    return distributed::als(c, local, o);
  });
  if (world_rank() != 0) return;
  const AlsResult<double> single = als(pl.observed, o);
  const Mat ref = single.model.to_dense();
  for (const auto& [p, r] : dist) {
    SCOPED_TRACE("ranks " + std::to_string(p));
    EXPECT_EQ(r.iterations, 15);
    EXPECT_LT(rel_diff(r.model.to_dense(), dist.at(1).model.to_dense()), 1e-10);
    EXPECT_LT(rel_diff(r.model.to_dense(), ref), 1e-10);
    EXPECT_NEAR(r.objective_trace.back(), single.objective_trace.back(), 1e-10 * single.objective_trace.back());
    // The planted truth: held-out RMSE near the noise level.
    EXPECT_LT(evaluate(r.model, pl.held_out).rmse, 0.1);
  }
}

TEST(DistributedSoftImpute, SameOnOneTwoFourRanksAndAsSingleProcess) {
  // Row 7 has no entry: dropped before the solve, zero in the model.
  const Planted pl = planted(50, 40, 3, 0.5, 0.01, 12, 7);
  SoftImputeOptions o;
  o.lambda = 2.0;
  o.max_rank = 8;
  o.tolerance = 0.0;  // the same number of iterations as the single-process fit
  o.max_iterations = 60;
  o.seed = 3;
  o.threads = 1;
  const auto dist = on_each_count(pl.observed, [&](MPI_Comm c, const ObservedEntries<double>& local) {
    return distributed::soft_impute(c, local, o);
  });
  if (world_rank() != 0) return;
  const SoftImputeResult<double> single = soft_impute(pl.observed, o);
  const Mat ref = single.model.to_dense();
  for (const auto& [p, r] : dist) {
    SCOPED_TRACE("ranks " + std::to_string(p));
    EXPECT_EQ(r.iterations, dist.at(1).iterations);
    EXPECT_LT(rel_diff(r.model.to_dense(), dist.at(1).model.to_dense()), 1e-10);
    EXPECT_LT(rel_diff(r.model.to_dense(), ref), 1e-8);
    EXPECT_NEAR(r.objective_trace.back(), single.objective_trace.back(), 1e-10 * single.objective_trace.back());
    EXPECT_EQ(r.model.rank(), single.model.rank());
    EXPECT_EQ(r.empty_rows, 1);
    EXPECT_DOUBLE_EQ(r.model.U.row(7).norm(), 0.0);
  }
}

TEST(DistributedSvd, TsqrFactorsTallMatrix) {
  for (int p : rank_counts()) {
    MPI_Comm sub = first_ranks(p);
    if (sub == MPI_COMM_NULL) continue;
    int rank = 0;
    MPI_Comm_rank(sub, &rank);
    // 23 x 5 spread unevenly (rank 0 gets 2 rows: fewer than the columns).
    Mat a(23, 5);
    std::mt19937_64 gen(9);
    std::normal_distribution<double> g;
    for (Index i = 0; i < a.size(); ++i) a.data()[i] = g(gen);
    std::vector<Index> b = {0, 2};
    for (int q = 1; q < p; ++q) b.push_back(2 + 21 * q / (p - 1));
    if (p == 1) b = {0, 23};
    Mat local = a.middleRows(b[rank], b[rank + 1] - b[rank]);
    const Mat r = distributed::tsqr(sub, local);
    Mat q(23, 5);
    std::vector<int> counts(p), displs(p);
    for (int s = 0; s < p; ++s) {
      counts[s] = static_cast<int>((b[s + 1] - b[s]) * 5);
      displs[s] = static_cast<int>(b[s] * 5);
    }
    Mat lt = local.transpose(), qt(5, 23);
    MPI_Allgatherv(lt.data(), counts[rank], MPI_DOUBLE, qt.data(), counts.data(), displs.data(), MPI_DOUBLE, sub);
    q = qt.transpose();
    EXPECT_LT((q.transpose() * q - Mat::Identity(5, 5)).norm(), 1e-13);
    EXPECT_LT(rel_diff(q * r, a), 1e-13);
    EXPECT_LT(Mat(r.triangularView<Eigen::StrictlyLower>()).norm(), 1e-300);
    MPI_Comm_free(&sub);
  }
}

TEST(DistributedSvd, RandomizedSvdMatchesDenseSvdOnPlantedRank) {
  // Fully observed rank-4 60 x 35 matrix: the sketch captures its range, so
  // the randomized SVD is exact to rounding.
  const Planted pl = planted(60, 35, 4, 2.0, 0.0, 13);
  Eigen::JacobiSVD<Mat> ref(pl.truth);
  std::map<int, SvdResult<double>> out;
  for (int p : rank_counts()) {
    MPI_Comm sub = first_ranks(p);
    if (sub == MPI_COMM_NULL) continue;
    TruncatedSvdOptions o;
    o.seed = 4;
    SvdResult<double> r = distributed::randomized_svd(sub, share(pl.observed, sub), 5, o);
    if (world_rank() == 0) out[p] = std::move(r);
    MPI_Comm_free(&sub);
  }
  if (world_rank() != 0) return;
  for (const auto& [p, r] : out) {
    SCOPED_TRACE("ranks " + std::to_string(p));
    // rank 5 of the planted + constant matrix: 5 nonzero singular values.
    for (Index i = 0; i < 5; ++i) EXPECT_NEAR(r.S(i), ref.singularValues()(i), 1e-10 * ref.singularValues()(0));
    EXPECT_LT(rel_diff(r.U * r.S.asDiagonal() * r.V.transpose(), pl.truth), 1e-10);
    EXPECT_LT((r.U.transpose() * r.U - Mat::Identity(5, 5)).norm(), 1e-12);
    EXPECT_LT(rel_diff(r.U, out.at(1).U), 1e-10);
    EXPECT_LT(rel_diff(r.V, out.at(1).V), 1e-10);
  }
}

std::string temp_dir(const std::string& name) {
  long long pid = getpid();
  MPI_Bcast(&pid, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  const fs::path d = fs::temp_directory_path() / ("lowrank_mpi_" + std::to_string(pid) + "_" + name);
  if (world_rank() == 0) {
    fs::remove_all(d);
    fs::create_directories(d);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return d.string();
}

// A run stopped after iteration 4 (the state of a job killed during
// iteration 5) and resumed from its checkpoint ends where a run never
// stopped ends.
TEST(DistributedCheckpoint, ResumedRunReachesTheSameResult) {
  const Planted pl = planted(40, 30, 2, 0.5, 0.01, 14);
  const std::string dir = temp_dir("ckpt");
  const int p = std::min(world_size(), 2);
  MPI_Comm sub = first_ranks(p);
  if (sub != MPI_COMM_NULL) {
    const ObservedEntries<double> local = share(pl.observed, sub);
    AlsOptions o;
    o.rank = 2;
    o.tolerance = 0.0;
    o.max_iterations = 8;
    o.threads = 1;
    const auto full = distributed::als(sub, local, o);
    distributed::CheckpointOptions ck{dir + "/als.ckpt", true};
    o.max_iterations = 4;
    const auto cut = distributed::als(sub, local, o, ck);
    o.max_iterations = 8;
    const auto resumed = distributed::als(sub, local, o, ck);
    SoftImputeOptions so;
    so.lambda = 1.0;
    so.max_rank = 5;
    so.tolerance = 0.0;
    so.max_iterations = 8;
    so.threads = 1;
    const auto sfull = distributed::soft_impute(sub, local, so);
    distributed::CheckpointOptions sck{dir + "/si.ckpt", true};
    so.max_iterations = 4;
    distributed::soft_impute(sub, local, so, sck);
    so.max_iterations = 8;
    const auto sresumed = distributed::soft_impute(sub, local, so, sck);
    if (world_rank() == 0) {
      EXPECT_EQ(cut.iterations, 4);
      EXPECT_EQ(cut.status, Status::NotConverging);
      EXPECT_EQ(resumed.iterations, 8);
      EXPECT_EQ(resumed.objective_trace, full.objective_trace);
      EXPECT_LT(rel_diff(resumed.model.to_dense(), full.model.to_dense()), 1e-14);
      EXPECT_EQ(sresumed.objective_trace, sfull.objective_trace);
      EXPECT_LT(rel_diff(sresumed.model.to_dense(), sfull.model.to_dense()), 1e-14);
    }
    // A checkpoint of another problem (another rank) is refused.
    so.max_rank = 4;
    EXPECT_THROW(distributed::soft_impute(sub, local, so, sck), InvalidArgument);
    MPI_Comm_free(&sub);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) fs::remove_all(dir);
}

TEST(DistributedErrors, BadEntryOnOneRankIsEveryRanksError) {
  ObservedEntries<double> local;
  local.rows = 10;
  local.cols = 8;
  local.push_back(world_rank(), 1, 1.0);
  if (world_rank() == world_size() - 1) local.push_back(3, 9, 1.0);  // column 9 of 8
  AlsOptions o;
  o.rank = 2;
  try {
    distributed::als(MPI_COMM_WORLD, local, o);
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("(3, 9) is outside the 10 x 8 matrix"), std::string::npos) << e.what();
  }
  // The same pair on two ranks is a duplicate once gathered.
  ObservedEntries<double> dup;
  dup.rows = 10;
  dup.cols = 8;
  dup.push_back(4, 5, 1.0);
  dup.push_back(world_rank() % 2 == 0 ? 6 : 7, 2, 1.0);
  if (world_size() == 1) dup.push_back(4, 5, 2.0);
  EXPECT_THROW(
      {
        try {
          distributed::soft_impute(MPI_COMM_WORLD, dup, SoftImputeOptions{});
        } catch (const InvalidArgument& e) {
          EXPECT_NE(std::string(e.what()).find("duplicate entry at (4, 5)"), std::string::npos) << e.what();
          throw;
        }
      },
      InvalidArgument);
}

TEST(DistributedRead, FileSlicesCoverEveryLineOnce) {
  const std::string dir = temp_dir("read");
  const std::string file = dir + "/t.tsv";
  if (world_rank() == 0) {
    std::ofstream f(file);
    f << "user\titem\trating\n# comment\n";
    for (int s = 0; s < 37; ++s) f << s % 9 << '\t' << (s * 5) % 11 << '\t' << s + 0.5 << "\t88\n";
  }
  MPI_Barrier(MPI_COMM_WORLD);
  for (int p : rank_counts()) {
    MPI_Comm sub = first_ranks(p);
    if (sub == MPI_COMM_NULL) continue;
    const ObservedEntries<double> local = distributed::read_entries(sub, file);
    EXPECT_EQ(local.rows, 9);
    EXPECT_EQ(local.cols, 11);
    long long count = static_cast<long long>(local.nnz()), total = 0;
    double sum = 0.0, all = 0.0;
    for (const double v : local.value) sum += v;
    MPI_Allreduce(&count, &total, 1, MPI_LONG_LONG, MPI_SUM, sub);
    MPI_Allreduce(&sum, &all, 1, MPI_DOUBLE, MPI_SUM, sub);
    EXPECT_EQ(total, 37);
    EXPECT_DOUBLE_EQ(all, 37 * 36 / 2 + 37 * 0.5);
    MPI_Comm_free(&sub);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) fs::remove_all(dir);
}

TEST(DistributedRead, BadShardsNameTheShard) {
  const std::string dir = temp_dir("shards");
  if (world_rank() == 0) {
    std::ofstream(dir + "/manifest") << "rows 5\ncols 4\nshards 3\n";
    std::ofstream(dir + "/part-00000.tsv") << "0 0 1\n1 1 2\n";
    std::ofstream(dir + "/part-00002.tsv") << "2 2 3\n";
  }
  MPI_Barrier(MPI_COMM_WORLD);
  auto message = [&]() -> std::string {
    try {
      distributed::read_entries(MPI_COMM_WORLD, dir);
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string missing = message();
  EXPECT_NE(missing.find("shard part-00001 (1 of 0..2) is missing"), std::string::npos) << missing;
  if (world_rank() == 0) std::ofstream(dir + "/part-00001.tsv") << "3 1 1\n4 7 2\n";
  MPI_Barrier(MPI_COMM_WORLD);
  const std::string range = message();
  EXPECT_NE(range.find("part-00001.tsv:2: column id 7 out of range [0, 4)"), std::string::npos) << range;
  if (world_rank() == 0) std::ofstream(dir + "/part-00001.tsv") << "3 1 1\n4 3 2\n";
  MPI_Barrier(MPI_COMM_WORLD);
  const ObservedEntries<double> local = distributed::read_entries(MPI_COMM_WORLD, dir);
  long long count = static_cast<long long>(local.nnz()), total = 0;
  MPI_Allreduce(&count, &total, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(total, 5);
  EXPECT_EQ(local.rows, 5);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) fs::remove_all(dir);
}

}  // namespace
}  // namespace lowrank

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
