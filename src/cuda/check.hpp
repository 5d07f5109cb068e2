#pragma once
// Every CUDA / cuBLAS call in src/cuda is checked; the error names the call
// and its file:line (a failed launch is caught by checking cudaGetLastError).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#define LOWRANK_CUDA_CHECK(call)                                                                          \
  do {                                                                                                    \
    cudaError_t err_ = (call);                                                                            \
    if (err_ != cudaSuccess)                                                                              \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " #call ": " + \
                               cudaGetErrorString(err_));                                                 \
  } while (0)
#define LOWRANK_CUBLAS_CHECK(call)                                                                                \
  do {                                                                                                            \
    cublasStatus_t st_ = (call);                                                                                  \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                                             \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) +                           \
                               ": " #call " failed with cuBLAS status " + std::to_string(static_cast<int>(st_))); \
  } while (0)
