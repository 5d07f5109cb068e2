// The completion solvers' sparse storage (issue 32, "lean on one machine"):
// one CSR built in the caller's arrays, its column view a chunk at a time,
// the fused residual sweep over either view, the in-place solver entries and float32 fits.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>

#include "completion/detail.hpp"
#include "completion/helpers.hpp"
#include "lowrank/completion/als.hpp"
#include "lowrank/completion/fit.hpp"
#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank {
namespace {

using completion_detail::ObservedMatrix;

// Entries of a planted problem in a shuffled order (the reader's order is
// arbitrary), so the in-place sort has work to do.
ObservedEntries<double> shuffled(ObservedEntries<double> e, std::uint64_t seed) {
  std::vector<std::size_t> order(e.nnz());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  return e.subset(order);
}

std::multiset<std::tuple<int, int, double>> as_set(const ObservedEntries<double>& e) {
  std::multiset<std::tuple<int, int, double>> s;
  for (std::size_t k = 0; k < e.nnz(); ++k) s.emplace(e.row[k], e.col[k], e.value[k]);
  return s;
}

// Every entry of the column view's chunks, column by column, against the
// dense matrix: rows increasing, the chunks in order and covering [0, n).
void expect_column_chunks_match(const ObservedMatrix<double>& x, const Matrix<double>& dense, Index align,
                                Index chunk_entries) {
  Index next = 0, chunks = 0;
  completion_detail::for_each_column_chunk<double>(
      x, align, 2,
      [&](const completion_detail::SparseView<double>& v) {
        EXPECT_EQ(v.first, next);
        EXPECT_TRUE(v.first % align == 0 || v.first == 0);
        EXPECT_TRUE(v.last % align == 0 || v.last == x.cols);
        EXPECT_EQ(v.base, v.outer[v.first]);
        for (Index j = v.first; j < v.last; ++j) {
          Index rows_seen = 0;
          for (Index s = v.outer[j]; s < v.outer[j + 1]; ++s) {
            if (s > v.outer[j]) {
              EXPECT_LT(v.index(s - 1), v.index(s));
            }
            EXPECT_EQ(v.at(s), dense(v.index(s), j));
            ++rows_seen;
          }
          EXPECT_EQ(rows_seen, (dense.col(j).array() != 0.0).count());
        }
        next = v.last;
        ++chunks;
      },
      chunk_entries);
  EXPECT_EQ(next, x.cols);
  if (chunk_entries == 1) {
    EXPECT_GE(chunks, (x.cols + align - 1) / align - 1);
  }
}

TEST(ObservedMatrix, BothViewsHoldTheEntriesOnceAndGiveThemBackSorted) {
  const auto p = test::make_planted<double>(40, 30, 2, 0.3, 0.1, 1);
  ObservedEntries<double> e = shuffled(p.train, 2);
  const auto before = as_set(e);
  const Matrix<double> dense = test::zero_filled(e);
  ObservedMatrix<double> x = completion_detail::take_entries(e);
  EXPECT_EQ(e.nnz(), 0u);
  EXPECT_EQ(e.row.capacity(), 0u);  // the row array is freed, not kept as an index
  ASSERT_EQ(x.nnz(), static_cast<Index>(before.size()));
  const auto v = x.by_rows();
  for (Index i = 0; i < v.count; ++i) {
    for (Index s = v.outer[i]; s < v.outer[i + 1]; ++s) {
      if (s > v.outer[i]) {
        EXPECT_LT(v.index(s - 1), v.index(s));
      }
      EXPECT_EQ(v.at(s), dense(i, v.index(s)));
      EXPECT_NE(dense(i, v.index(s)), 0.0);
    }
  }
  EXPECT_EQ(v.nnz(), x.nnz());
  // One chunk (the default for small matrices), a column (or three) per
  // chunk, and a few entries per chunk.
  for (const auto& [align, entries] : {std::pair<Index, Index>{1, 0}, {1, 1}, {3, 1}, {4, 50}})
    expect_column_chunks_match(x, dense, align, entries);
  completion_detail::give_back(x, e);
  EXPECT_EQ(as_set(e), before);
  for (std::size_t k = 1; k < e.nnz(); ++k)
    EXPECT_TRUE(std::tie(e.row[k - 1], e.col[k - 1]) < std::tie(e.row[k], e.col[k]));
}

TEST(ObservedMatrix, ADuplicatePairIsNamedAndTheEntriesStay) {
  ObservedEntries<double> e;
  e.rows = 3;
  e.cols = 3;
  e.push_back(2, 1, 1.0);
  e.push_back(0, 0, 2.0);
  e.push_back(2, 1, 3.0);
  e.push_back(1, 2, 4.0);
  try {
    completion_detail::take_entries(e);
    FAIL() << "no exception";
  } catch (const InvalidArgument& err) {
    EXPECT_NE(std::string(err.what()).find("duplicate entry at (row 2, col 1)"), std::string::npos) << err.what();
  }
  EXPECT_EQ(e.nnz(), 4u);
  SoftImputeOptions o;
  o.lambda = 0.1;
  EXPECT_THROW(soft_impute(e, o), InvalidArgument);
}

// The fused sweep against the dense formula, row view and column view (the
// column view built chunk by chunk from the CSR); the chunking changes no bit.
TEST(ObservedMatrix, ResidualSweepMatchesTheDenseFormula) {
  const auto p = test::make_planted<double>(50, 35, 3, 0.4, 0.1, 3);
  ObservedEntries<double> e = shuffled(p.train, 4);
  const Matrix<double> x0 = test::zero_filled(e);
  Matrix<double> mask = Matrix<double>::Zero(50, 35);
  for (std::size_t k = 0; k < e.nnz(); ++k) mask(e.row[k], e.col[k]) = 1;
  ObservedMatrix<double> x = completion_detail::take_entries(e);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g;
  Matrix<double> a(50, 3), b(35, 3), c(35, 4), d(50, 2);
  for (auto* mtx : {&a, &b, &c, &d})
    for (Index k = 0; k < mtx->size(); ++k) mtx->data()[k] = g(rng);
  const Matrix<double> s = (x0 - a * b.transpose()).cwiseProduct(mask);  // P_Omega(X - A B^T)
  Matrix<double> y;
  const Matrix<double> bt = b.transpose(), ct = c.transpose(), dt = d.transpose(), at = a.transpose();
  double loss = completion_detail::residual_sweep(x.by_rows(), a, bt, nullptr, &y);
  EXPECT_NEAR(loss, 0.5 * s.squaredNorm(), 1e-10 * s.squaredNorm());
  EXPECT_LT((y - s * b).norm(), 1e-10 * (s * b).norm());
  completion_detail::residual_sweep(x.by_rows(), a, bt, &ct, &y);
  EXPECT_LT((y - s * c).norm(), 1e-10 * (s * c).norm());
  loss = completion_detail::residual_sweep_by_cols(x, b, at, &dt, &y);
  EXPECT_NEAR(loss, 0.5 * s.squaredNorm(), 1e-10 * s.squaredNorm());
  EXPECT_LT((y - s.transpose() * d).norm(), 1e-10 * (s.transpose() * d).norm());
  for (const Index entries : {1, 7, 100}) {
    Matrix<double> y_chunked;
    EXPECT_EQ(completion_detail::residual_sweep_by_cols(x, b, at, &dt, &y_chunked, entries), loss);
    EXPECT_EQ(y_chunked, y);
  }
  EXPECT_THROW(completion_detail::residual_sweep_by_cols(x, a, bt, nullptr, &y), InvalidArgument);
}

// In place and on a copy: the same matrix, so the same iterates bit for bit;
// the caller's entries come back (sorted).
TEST(InPlace, SoftImputeAndAlsGiveTheCopyingCallsResults) {
  const auto p = test::make_planted<double>(60, 45, 3, 0.35, 0.1, 6);
  const ObservedEntries<double> data = shuffled(p.train, 7);
  const auto before = as_set(data);
  for (const auto variant : {SoftImputeVariant::Als, SoftImputeVariant::Svd}) {
    SoftImputeOptions o;
    o.lambda = 2.0;
    o.max_rank = 8;
    o.variant = variant;
    o.tolerance = 1e-9;
    o.max_iterations = 300;
    const auto copied = soft_impute(data, o);
    ObservedEntries<double> mine = data;
    const auto in_place = soft_impute_in_place(mine, o);
    EXPECT_EQ(as_set(mine), before);
    EXPECT_EQ(copied.objective_trace, in_place.objective_trace) << to_string(variant);
    EXPECT_EQ(copied.model.d, in_place.model.d);
  }
  AlsOptions a;
  a.rank = 3;
  a.lambda = 0.1;
  a.max_iterations = 30;
  const auto copied = als(data, a);
  ObservedEntries<double> mine = data;
  const auto in_place = als_in_place(mine, a);
  EXPECT_EQ(as_set(mine), before);
  EXPECT_EQ(copied.objective_trace, in_place.objective_trace);
}

// The two soft-impute forms still reach the same optimum (the SVD form's
// operator now recomputes its residuals in every product).
TEST(InPlace, SvdFormAndAlsFormAgreeOnTheObjective) {
  const auto p = test::make_planted<double>(60, 45, 3, 0.35, 0.1, 8);
  SoftImputeOptions o;
  o.lambda = 2.0;
  o.max_rank = 10;
  o.tolerance = 1e-10;
  o.max_iterations = 2000;
  o.variant = SoftImputeVariant::Als;
  const double f_als = soft_impute(p.train, o).objective_trace.back();
  o.variant = SoftImputeVariant::Svd;
  const double f_svd = soft_impute(p.train, o).objective_trace.back();
  EXPECT_NEAR(f_svd, f_als, 1e-6 * f_als);
}

double test_rmse(const CompletionModel<double>& m, const ObservedEntries<double>& t) {
  double se = 0;
  for (std::size_t k = 0; k < t.nnz(); ++k) {
    const double e = m.predict(t.row[k], t.col[k]) - t.value[k];
    se += e * e;
  }
  return std::sqrt(se / static_cast<double>(t.nnz()));
}

// float32: the held-out RMSE of the single-precision fit within 1e-4
// (relative) of the double fit's, for each method, in place and not. Both
// run the same number of iterations (tolerance 0): a convergence test near
// float's 1e-7 resolution would compare two different stopping points.
TEST(Float32, SameHeldOutRmseAsDouble) {
  const auto p = test::make_planted<double>(120, 90, 3, 0.3, 0.1, 9);
  for (const auto method : {CompletionMethod::SoftImpute, CompletionMethod::SoftImputeSvd, CompletionMethod::Als}) {
    CompletionFitOptions o;
    o.method = method;
    o.lambda = method == CompletionMethod::Als ? 0.05 : 1.0;
    o.soft_impute.max_rank = 10;
    o.als.rank = 3;
    o.soft_impute.tolerance = o.als.tolerance = 0.0;
    o.soft_impute.max_iterations = 100;
    o.als.max_iterations = 30;
    o.max_iteration_rounds = 1;
    const auto d = fit_completion(p.train, o);
    o.float32 = true;
    const auto f = fit_completion(p.train, o);
    ObservedEntries<double> mine = p.train;
    const auto g = fit_completion_in_place(mine, o);
    const double rd = test_rmse(d.model, p.test_truth), rf = test_rmse(f.model, p.test_truth);
    EXPECT_NEAR(rf, rd, 1e-4 * rd) << to_string(method);
    EXPECT_NEAR(test_rmse(g.model, p.test_truth), rf, 1e-6 * rd) << to_string(method);
    EXPECT_LT(rd, 0.3) << to_string(method);  // the fits recover the planted matrix (entries' sd ~1.7)
    EXPECT_EQ(mine.nnz(), p.train.nnz());
    // The caller's entries come back sorted, values rounded to float.
    std::multiset<std::tuple<int, int, double>> rounded;
    for (std::size_t k = 0; k < p.train.nnz(); ++k)
      rounded.emplace(p.train.row[k], p.train.col[k], static_cast<double>(static_cast<float>(p.train.value[k])));
    EXPECT_EQ(as_set(mine), rounded) << to_string(method);
  }
}

// The float32 fits' conversions free the source page by page as they copy
// (issue 32): the copy is exact (double -> float rounds as a cast does,
// float -> double is exact) over several chunks and unaligned lengths.
TEST(Float32, ConversionReleasingTheSourceCopiesEveryValue) {
  for (const std::size_t n : {std::size_t{0}, std::size_t{3}, std::size_t{600001}}) {
    std::vector<double> d(n);
    for (std::size_t k = 0; k < n; ++k) d[k] = 1.0 / static_cast<double>(k + 3) + static_cast<double>(k);
    const std::vector<double> original = d;
    std::vector<float> f;
    completion_detail::convert_releasing(d, f);
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(d.capacity(), 0u);
    ASSERT_EQ(f.size(), n);
    for (std::size_t k = 0; k < n; ++k) ASSERT_EQ(f[k], static_cast<float>(original[k])) << k;
    std::vector<double> back;
    completion_detail::convert_releasing(f, back);
    EXPECT_EQ(f.capacity(), 0u);
    ASSERT_EQ(back.size(), n);
    for (std::size_t k = 0; k < n; ++k) ASSERT_EQ(back[k], static_cast<double>(static_cast<float>(original[k])));
  }
}

// A path with CV (biases centring included) gives the same answer in place.
TEST(InPlace, FitCompletionWithCvMatchesTheCopyingCall) {
  const auto p = test::make_planted<double>(50, 40, 2, 0.4, 0.1, 10);
  CompletionFitOptions o;
  o.folds = 3;
  o.lambda_count = 5;
  o.soft_impute.max_rank = 6;
  const auto a = fit_completion(p.train, o);
  ObservedEntries<double> mine = p.train;
  const auto b = fit_completion_in_place(mine, o);
  EXPECT_EQ(a.lambda, b.lambda);
  EXPECT_EQ(a.centering, b.centering);
  EXPECT_NEAR(test_rmse(a.model, p.test_truth), test_rmse(b.model, p.test_truth), 1e-9);
  EXPECT_EQ(as_set(mine), as_set(p.train));
}

}  // namespace
}  // namespace lowrank
