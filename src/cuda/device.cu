// CUDA build of the entry points in lowrank/cuda/device.hpp, on cuBLAS.
#include <stdexcept>
#include <string>

#include "cuda/check.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/cuda/device.hpp"

namespace lowrank::cuda {

bool built_with_cuda() noexcept { return true; }

int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

namespace {

// Device buffer that frees itself.
template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  explicit DeviceBuffer(std::size_t n) { LOWRANK_CUDA_CHECK(cudaMalloc(&ptr, n * sizeof(T) + 1)); }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

struct Handle {
  cublasHandle_t h = nullptr;
  Handle() { LOWRANK_CUBLAS_CHECK(cublasCreate(&h)); }
  ~Handle() { cublasDestroy(h); }
};

cublasStatus_t gemm_call(cublasHandle_t h, int m, int n, int k, const double* a, const double* b, double* c) {
  const double one = 1, zero = 0;
  return cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, a, m, b, k, &zero, c, m);
}
cublasStatus_t gemm_call(cublasHandle_t h, int m, int n, int k, const float* a, const float* b, float* c) {
  const float one = 1, zero = 0;
  return cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, a, m, b, k, &zero, c, m);
}

template <class T>
Matrix<T> gemm_impl(const Matrix<T>& a, const Matrix<T>& b) {
  if (a.cols() != b.rows()) {
    throw InvalidArgument("cuda::gemm: inner dimensions differ (" + std::to_string(a.cols()) + " vs " +
                          std::to_string(b.rows()) + ")");
  }
  if (device_count() == 0) throw InvalidArgument("cuda::gemm: no CUDA device available");
  const int m = static_cast<int>(a.rows()), k = static_cast<int>(a.cols()), n = static_cast<int>(b.cols());
  Matrix<T> c(m, n);
  if (c.size() == 0) return c;
  DeviceBuffer<T> da(a.size()), db(b.size()), dc(c.size());
  LOWRANK_CUDA_CHECK(cudaMemcpy(da.ptr, a.data(), a.size() * sizeof(T), cudaMemcpyHostToDevice));
  LOWRANK_CUDA_CHECK(cudaMemcpy(db.ptr, b.data(), b.size() * sizeof(T), cudaMemcpyHostToDevice));
  Handle h;
  LOWRANK_CUBLAS_CHECK(gemm_call(h.h, m, n, k, da.ptr, db.ptr, dc.ptr));
  LOWRANK_CUDA_CHECK(cudaMemcpy(c.data(), dc.ptr, c.size() * sizeof(T), cudaMemcpyDeviceToHost));
  return c;
}

}  // namespace

Matrix<double> gemm(const Matrix<double>& a, const Matrix<double>& b) { return gemm_impl(a, b); }
Matrix<float> gemm(const Matrix<float>& a, const Matrix<float>& b) { return gemm_impl(a, b); }

}  // namespace lowrank::cuda
