#pragma once
// Internal: set the thread counts for a scope and restore them afterwards.
//
// One guard for the two uses: a whole run at the caller's thread count
// (nn's training and sampling: OpenMP and OpenBLAS both), and a small kernel
// on the calling thread alone (the SVD's sparse products below 2^23
// multiply-adds, whose idle OpenMP workers otherwise spin in libgomp:
// OpenMP only). OpenMP's team size is per thread, so other threads are not
// affected; OpenBLAS's count is process-wide (serial_blas.hpp).
#include <omp.h>

#include "lowrank/core/detail/serial_blas.hpp"

namespace lowrank::detail {

class ThreadCountScope {
 public:
  enum class Blas { Keep, Set };
  /// Sets OpenMP's thread count (and OpenBLAS's with Blas::Set) to
  /// `threads`; threads <= 0 leaves everything as it is.
  explicit ThreadCountScope(int threads, Blas blas = Blas::Keep) {
    if (threads <= 0) return;
    m_omp = omp_get_max_threads();
    if (m_omp != threads) omp_set_num_threads(threads);
    if (blas == Blas::Set && openblas_get_num_threads != nullptr) {
      m_blas = openblas_get_num_threads();
      set_blas_threads(threads);
    }
  }
  ~ThreadCountScope() {
    if (m_omp > 0 && omp_get_max_threads() != m_omp) omp_set_num_threads(m_omp);
    set_blas_threads(m_blas);  // no-op for 0 (not changed)
  }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int m_omp = 0, m_blas = 0;
};

}  // namespace lowrank::detail
