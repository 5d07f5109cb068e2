// The GPU engine on CUDA (build option LOWRANK_CUDA): the backend of
// gpt_engine.hpp on device memory, cuBLAS and one CUDA thread per kernel index.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include "cuda/check.hpp"
#include "cuda/nn/gpt_engine.hpp"

namespace lowrank::cuda {
namespace {

// One thread per index of a kernels.hpp functor.
template <class Kernel, class... Args>
__global__ void run_kernel(I total, Args... args) {
  const I idx = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx < total) Kernel{}(idx, args...);
}

template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  ~DeviceArray() { release(); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept : m_ptr(std::exchange(o.m_ptr, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    std::swap(m_ptr, o.m_ptr);
    std::swap(m_size, o.m_size);
    return *this;
  }
  /// Grows (never shrinks) to n elements; the contents are not kept.
  void reserve(std::size_t n) {
    if (n <= m_size) return;
    release();
    LOWRANK_CUDA_CHECK(cudaMalloc(&m_ptr, n * sizeof(T)));
    m_size = n;
  }
  void zero() {
    if (m_size) LOWRANK_CUDA_CHECK(cudaMemset(m_ptr, 0, m_size * sizeof(T)));
  }
  void upload(const T* host, std::size_t n) {
    reserve(n);
    if (n) LOWRANK_CUDA_CHECK(cudaMemcpy(m_ptr, host, n * sizeof(T), cudaMemcpyHostToDevice));
  }
  void download(T* host, std::size_t n) const {
    if (n) LOWRANK_CUDA_CHECK(cudaMemcpy(host, m_ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
  }
  T* data() { return m_ptr; }
  const T* data() const { return m_ptr; }
  std::size_t bytes() const { return m_size * sizeof(T); }

 private:
  void release() {
    if (m_ptr) cudaFree(m_ptr);
    m_ptr = nullptr;
    m_size = 0;
  }
  T* m_ptr = nullptr;
  std::size_t m_size = 0;
};
using Buf = DeviceArray<float>;

struct CudaBackend {
  template <class T>
  using Array = DeviceArray<T>;

  CudaBackend() {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0)
      throw InvalidArgument("GptDevice: no CUDA device available");
    LOWRANK_CUBLAS_CHECK(cublasCreate(&blas));
  }
  ~CudaBackend() {
    if (blas) cublasDestroy(blas);
  }
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  void copy(float* dst, const float* src, I n) {
    LOWRANK_CUDA_CHECK(cudaMemcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice));
  }

  template <class Kernel, class... Args>
  void launch(I total, Args... args) {
    if (total <= 0) return;
    constexpr int threads = 256;
    run_kernel<Kernel><<<static_cast<unsigned>((total + threads - 1) / threads), threads>>>(total, args...);
    LOWRANK_CUDA_CHECK(cudaGetLastError());
  }

  void gemm_cm(bool ta, bool tb, I m, I n, I k, float alpha, const float* a, I lda, const float* b, I ldb, float beta,
               float* c, I ldc) {
    LOWRANK_CUBLAS_CHECK(cublasSgemm(blas, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                     static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), &alpha, a,
                                     static_cast<int>(lda), b, static_cast<int>(ldb), &beta, c, static_cast<int>(ldc)));
  }

  void synchronize() { LOWRANK_CUDA_CHECK(cudaDeviceSynchronize()); }

  cublasHandle_t blas = nullptr;
};

}  // namespace

std::unique_ptr<GptDevice> make_gpt_device(const GptDeviceConfig& config) {
  return std::make_unique<GptEngine<CudaBackend>>(config);
}

}  // namespace lowrank::cuda
