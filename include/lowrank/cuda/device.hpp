#pragma once
// The CUDA backend's entry points (CMake option LOWRANK_CUDA, off by default).
//
// As in XGBoost, the functions are declared for every build; a CPU-only build
// links stubs that report no device and throw a clear error if called, so
// callers and tests need no #ifdefs. The CUDA build implements them in
// src/cuda/*.cu with cuBLAS; every GPU routine has a CPU reference it is
// tested against (tests/cuda/), and those tests skip without a device.
#include "lowrank/core/types.hpp"

namespace lowrank::cuda {

/// True when lowrank was built with LOWRANK_CUDA=ON.
bool built_with_cuda() noexcept;

/// Number of usable CUDA devices (0 in a CPU-only build or without a GPU).
int device_count() noexcept;

/// C = A B on the GPU with cuBLAS (copies in and out; column-major as
/// everywhere in lowrank). Throws lowrank::InvalidArgument on a shape
/// mismatch, without a device and in a CPU-only build (saying so), and
/// std::runtime_error naming a failed CUDA call (file:line).
Matrix<double> gemm(const Matrix<double>& a, const Matrix<double>& b);
Matrix<float> gemm(const Matrix<float>& a, const Matrix<float>& b);

}  // namespace lowrank::cuda
