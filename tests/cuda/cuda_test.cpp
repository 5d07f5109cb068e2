// The CUDA backend against the CPU reference; skips without a device.
#include <gtest/gtest.h>

#include "lowrank/core/error.hpp"
#include "lowrank/cuda/device.hpp"

namespace lowrank {
namespace {

TEST(Cuda, CpuOnlyBuildReportsNoDeviceAndFailsClearly) {
  if (cuda::built_with_cuda()) GTEST_SKIP() << "CUDA build: covered by GemmMatchesCpu";
  EXPECT_EQ(cuda::device_count(), 0);
  Matrix<double> a = Matrix<double>::Ones(2, 2);
  try {
    cuda::gemm(a, a);
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {  // a usage error (exit 2), as `train --device cuda`
    EXPECT_NE(std::string(e.what()).find("LOWRANK_CUDA"), std::string::npos);
  }
}

TEST(Cuda, GemmMatchesCpu) {
  if (cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device (build with -DLOWRANK_CUDA=ON on a GPU machine)";
  Matrix<double> a = Matrix<double>::Random(300, 200), b = Matrix<double>::Random(200, 150);
  Matrix<double> ref = a * b;
  EXPECT_LT((cuda::gemm(a, b) - ref).norm(), 1e-12 * ref.norm());
  Matrix<float> af = a.cast<float>(), bf = b.cast<float>();
  EXPECT_LT((cuda::gemm(af, bf).cast<double>() - ref).norm(), 1e-5 * ref.norm());
  EXPECT_ANY_THROW(cuda::gemm(a, a));  // 300x200 times 300x200: shapes differ
}

}  // namespace
}  // namespace lowrank
