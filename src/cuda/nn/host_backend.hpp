#pragma once
// The host backend of gpt_engine.hpp: std::vector for device memory, a
// straightforward column-major GEMM with cublasSgemm's contract, and a loop
// over every kernel index. It exists so the GPU engine's own code runs (and
// is tested against nn::Gpt) on machines without a GPU; it is not fast.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "cuda/nn/kernels.hpp"

namespace lowrank::cuda {

struct HostBackend {
  template <class T>
  class Array {
   public:
    void reserve(std::size_t n) {
      // Fresh memory is filled with NaN for float / double, so a kernel that
      // reads what nothing wrote shows up in the results.
      if (n > m_v.size()) m_v.assign(n, poison());
    }
    void zero() { std::fill(m_v.begin(), m_v.end(), T(0)); }
    void upload(const T* host, std::size_t n) {
      reserve(n);
      if (n) std::memcpy(m_v.data(), host, n * sizeof(T));
    }
    void download(T* host, std::size_t n) const {
      if (n) std::memcpy(host, m_v.data(), n * sizeof(T));
    }
    T* data() { return m_v.data(); }
    const T* data() const { return m_v.data(); }
    std::size_t bytes() const { return m_v.size() * sizeof(T); }

   private:
    static T poison() {
      if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::quiet_NaN();
      return T(0);
    }
    std::vector<T> m_v;
  };

  void copy(float* dst, const float* src, kernels::I n) {
    std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
  }

  template <class Kernel, class... Args>
  void launch(kernels::I total, Args... args) {
    for (kernels::I idx = 0; idx < total; ++idx) Kernel{}(idx, args...);
  }

  // C = alpha op(A) op(B) + beta C, column-major, op(A) [m,k], op(B) [k,n];
  // beta = 0 overwrites C without reading it, as cuBLAS does.
  void gemm_cm(bool ta, bool tb, kernels::I m, kernels::I n, kernels::I k, float alpha, const float* a, kernels::I lda,
               const float* b, kernels::I ldb, float beta, float* c, kernels::I ldc) {
    for (kernels::I j = 0; j < n; ++j)
      for (kernels::I i = 0; i < m; ++i) {
        double acc = 0;
        for (kernels::I p = 0; p < k; ++p) {
          const float av = ta ? a[p + i * lda] : a[i + p * lda];
          const float bv = tb ? b[j + p * ldb] : b[p + j * ldb];
          acc += static_cast<double>(av) * bv;
        }
        float& out = c[i + j * ldc];
        out = beta == 0 ? alpha * static_cast<float>(acc) : alpha * static_cast<float>(acc) + beta * out;
      }
  }

  void synchronize() {}
};

}  // namespace lowrank::cuda
