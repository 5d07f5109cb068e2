#pragma once
// The pseudo-random generator of the numerical core: its seeded draws
// (randomized SVD sketches, Lanczos start vectors, planted matrices, bandit
// noise, MDP generators) come from here, so a seed gives the same numbers on
// every platform and standard library (the std distributions such as
// std::normal_distribution are implementation-defined). Not yet everywhere
// (issue 27, item 4): core/splits.cpp draws from std::mt19937_64 (fully
// specified) through distributions of its own, while the nn engine (model,
// linear, data, train) and diagnostics/logits.cpp still use std::mt19937_64
// with std distributions, so their initialisations and samples may differ
// between standard libraries.
//
//   engine   xoshiro256** (Blackman & Vigna 2018), state seeded by splitmix64
//   uniform  53 high bits of the output / 2^53, in [0, 1)
//   index    Lemire's (2019) nearly divisionless unbiased bounded integer
//   normal   Marsaglia's polar method (pairs, the second value cached)
#include <cmath>
#include <cstdint>

namespace lowrank {

/// splitmix64 (Steele, Lea, Flood 2014): advances `state` and returns a
/// well-mixed 64-bit value; used to seed engines and as a tiny stream itself.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// xoshiro256** with the distributions lowrank needs. Cheap to copy; one
/// per thread (it is not thread-safe).
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t sm = seed;
    for (auto& s : m_s) s = splitmix64(sm);
    m_has_spare = false;
  }

  /// Next raw 64-bit output.
  std::uint64_t next() {
    const std::uint64_t result = rotl(m_s[1] * 5, 7) * 9;
    const std::uint64_t t = m_s[1] << 17;
    m_s[2] ^= m_s[0];
    m_s[3] ^= m_s[1];
    m_s[1] ^= m_s[2];
    m_s[0] ^= m_s[3];
    m_s[2] ^= t;
    m_s[3] = rotl(m_s[3], 45);
    return result;
  }

  /// Uniform double in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform on (0, 1]: never 0, so log() in Box-Muller stays finite.
  double uniform_open0() { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }

  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [0, n), n >= 1, without modulo bias.
  std::uint64_t index(std::uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    std::uint64_t low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// Standard normal N(0, 1).
  double normal() {
    if (m_has_spare) {
      m_has_spare = false;
      return m_spare;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    m_spare = v * f;
    m_has_spare = true;
    return u * f;
  }

  /// Exponential(1), used for Dirichlet(1, ..., 1) draws.
  double exponential() { return -std::log1p(-uniform()); }

  /// A child generator whose stream is a deterministic function of this
  /// one's next output and `stream` (for per-seed / per-phase sub-streams).
  Rng split(std::uint64_t stream = 0) { return Rng(next() ^ (0x9E3779B97F4A7C15ULL * (stream + 1))); }

  /// The seeding mixer, exposed for tests that pin the stream.
  static std::uint64_t splitmix64(std::uint64_t& state) { return lowrank::splitmix64(state); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t m_s[4];
  double m_spare = 0.0;
  bool m_has_spare = false;
};

}  // namespace lowrank
