#pragma once
// Internal: run OpenBLAS single-threaded for a scope.
//
// The solvers interleave their own OpenMP kernels (sparse products, per-row
// solves) with many small BLAS calls (QR / products of skinny m x r blocks).
// With Debian's pthreads OpenBLAS, its worker threads then spin in
// sched_yield against libgomp's threads on the same cores, which doubled a
// MovieLens-100k soft-impute fit (docs/benchmarks.md). The
// setting is process-wide while the scope lasts; another BLAS leaves the
// weak symbols null and nothing happens.
extern "C" {
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads() __attribute__((weak));
}

namespace lowrank::detail {

class SerialBlasScope {
 public:
  explicit SerialBlasScope(bool active = true) {
    if (active && openblas_set_num_threads != nullptr && openblas_get_num_threads != nullptr) {
      m_saved = openblas_get_num_threads();
      if (m_saved > 1) {
        openblas_set_num_threads(1);
      } else {
        m_saved = 0;
      }
    }
  }
  ~SerialBlasScope() {
    if (m_saved > 0) openblas_set_num_threads(m_saved);
  }
  SerialBlasScope(const SerialBlasScope&) = delete;
  SerialBlasScope& operator=(const SerialBlasScope&) = delete;

 private:
  int m_saved = 0;
};

/// Caps OpenBLAS's thread count (the CLI's --threads): no-op for another BLAS.
inline void set_blas_threads(int n) {
  if (n > 0 && openblas_set_num_threads != nullptr) openblas_set_num_threads(n);
}

}  // namespace lowrank::detail
