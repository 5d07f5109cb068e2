// CPU-only build: the CUDA entry points exist but report that there is no GPU.
#include "lowrank/core/error.hpp"
#include "lowrank/cuda/device.hpp"

namespace lowrank::cuda {

bool built_with_cuda() noexcept { return false; }
int device_count() noexcept { return 0; }

namespace {
[[noreturn]] void no_cuda() {
  throw InvalidArgument("lowrank was built without CUDA: reconfigure with -DLOWRANK_CUDA=ON (needs /usr/local/cuda)");
}
}  // namespace

Matrix<double> gemm(const Matrix<double>&, const Matrix<double>&) { no_cuda(); }
Matrix<float> gemm(const Matrix<float>&, const Matrix<float>&) { no_cuda(); }

}  // namespace lowrank::cuda
