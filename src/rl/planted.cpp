#include "lowrank/rl/planted.hpp"

#include <Eigen/QR>
#include <cmath>
#include <string>

#include "lowrank/core/error.hpp"
#include "lowrank/rl/rng.hpp"

namespace lowrank::rl {

namespace {

Matrix<double> gaussian_orthonormal(Index rows, Index cols, Rng& rng) {
  Matrix<double> g(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) g(i, j) = rng.normal();
  Eigen::HouseholderQR<Matrix<double>> qr(g);
  return qr.householderQ() * Matrix<double>::Identity(rows, cols);
}

}  // namespace

template <class T>
LowRankModel<T> planted_low_rank(const PlantedMatrixOptions& o) {
  if (o.rows <= 0 || o.cols <= 0) {
    throw InvalidArgument("planted_low_rank: the shape must be positive, got " + std::to_string(o.rows) + " x " +
                          std::to_string(o.cols));
  }
  if (o.rank < 1 || o.rank > std::min(o.rows, o.cols)) {
    throw InvalidArgument("planted_low_rank: rank " + std::to_string(o.rank) + " is outside [1, min(m, n)] = [1, " +
                          std::to_string(std::min(o.rows, o.cols)) + "]");
  }
  if (!(o.condition_number >= 1.0)) throw InvalidArgument("planted_low_rank: condition_number must be >= 1");
  if (!(o.rms > 0.0)) throw InvalidArgument("planted_low_rank: rms must be > 0");
  Rng rng(o.seed);
  const Index r = o.rank;
  Vector<double> s(r);
  for (Index k = 0; k < r; ++k) {
    const double t = r > 1 ? static_cast<double>(k) / static_cast<double>(r - 1) : 0.0;
    s(k) = 1.0 - t * (1.0 - 1.0 / o.condition_number);
  }
  s *= o.rms * std::sqrt(static_cast<double>(o.rows) * static_cast<double>(o.cols)) / s.norm();
  LowRankModel<T> out;
  out.rows = o.rows;
  out.cols = o.cols;
  out.U = gaussian_orthonormal(o.rows, r, rng).cast<T>();
  out.V = gaussian_orthonormal(o.cols, r, rng).cast<T>();
  out.d = s.cast<T>();
  return out;
}

template <class T>
ObservedEntries<T> sample_uniform(const LowRankModel<T>& m, std::int64_t samples, double noise_sd, std::uint64_t seed) {
  if (samples <= 0)
    throw InvalidArgument("sample_uniform: the sample count must be > 0, got " + std::to_string(samples));
  if (!(noise_sd >= 0.0)) throw InvalidArgument("sample_uniform: noise_sd must be >= 0");
  Rng rng(seed);
  ObservedEntries<T> out;
  out.rows = m.rows;
  out.cols = m.cols;
  out.reserve(static_cast<std::size_t>(samples));
  const std::uint64_t rows = static_cast<std::uint64_t>(m.rows), cols = static_cast<std::uint64_t>(m.cols);
  for (std::int64_t t = 0; t < samples; ++t) {
    const Index i = static_cast<Index>(rng.index(rows));
    const Index j = static_cast<Index>(rng.index(cols));
    const double x = static_cast<double>(m.predict(i, j)) + noise_sd * rng.normal();
    out.push_back(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), static_cast<T>(x));
  }
  return out;
}

template <class T>
double coherence(const Matrix<T>& u) {
  if (u.cols() == 0 || u.rows() == 0) return 0.0;
  return static_cast<double>(u.rows()) / static_cast<double>(u.cols()) *
         static_cast<double>(u.rowwise().squaredNorm().maxCoeff());
}

#define LOWRANK_RL_INSTANTIATE(T)                                                                             \
  template LowRankModel<T> planted_low_rank<T>(const PlantedMatrixOptions&);                                  \
  template ObservedEntries<T> sample_uniform<T>(const LowRankModel<T>&, std::int64_t, double, std::uint64_t); \
  template double coherence<T>(const Matrix<T>&);
LOWRANK_RL_INSTANTIATE(float)
LOWRANK_RL_INSTANTIATE(double)
#undef LOWRANK_RL_INSTANTIATE

}  // namespace lowrank::rl
