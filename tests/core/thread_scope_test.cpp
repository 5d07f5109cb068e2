// ThreadCountScope (core/detail/thread_scope.hpp): the one guard that sets
// OpenMP's (and OpenBLAS's) thread counts for a scope, used by nn's training
// and the SVD's small sparse products.
#include <gtest/gtest.h>
#include <omp.h>

#include "lowrank/core/detail/thread_scope.hpp"

namespace lowrank::detail {
namespace {

TEST(ThreadCountScope, SetsOpenMpForTheScopeAndRestoresIt) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(3);
  {
    const ThreadCountScope one(1);
    EXPECT_EQ(omp_get_max_threads(), 1);
    {
      const ThreadCountScope inactive(0);  // <= 0: nothing changes
      EXPECT_EQ(omp_get_max_threads(), 1);
    }
    EXPECT_EQ(omp_get_max_threads(), 1);
  }
  EXPECT_EQ(omp_get_max_threads(), 3);
  {
    const ThreadCountScope two(2);
    EXPECT_EQ(omp_get_max_threads(), 2);
  }
  EXPECT_EQ(omp_get_max_threads(), 3);
  omp_set_num_threads(saved);
}

TEST(ThreadCountScope, BlasSetAlsoSetsAndRestoresOpenBlas) {
  if (openblas_get_num_threads == nullptr || openblas_set_num_threads == nullptr)
    GTEST_SKIP() << "not linked against OpenBLAS";
  const int saved = openblas_get_num_threads();
  openblas_set_num_threads(2);
  if (openblas_get_num_threads() != 2) {
    openblas_set_num_threads(saved);
    GTEST_SKIP() << "a single-threaded OpenBLAS";
  }
  {
    const ThreadCountScope keep(1);  // Blas::Keep: OpenBLAS untouched
    EXPECT_EQ(openblas_get_num_threads(), 2);
  }
  {
    const ThreadCountScope set(1, ThreadCountScope::Blas::Set);
    EXPECT_EQ(openblas_get_num_threads(), 1);
  }
  EXPECT_EQ(openblas_get_num_threads(), 2);
  openblas_set_num_threads(saved);
}

}  // namespace
}  // namespace lowrank::detail
