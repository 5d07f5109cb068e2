#pragma once
// The one pseudo-random generator of lowrank: every seeded draw (randomized
// SVD sketches, Lanczos start vectors, planted matrices, CV folds and splits,
// bandit noise, MDP generators and reward-free sampling, nn initialisation,
// batches and text sampling, logit-rank windows) comes from here, with
// distributions of our own, so a seed gives the same numbers on every
// platform and standard library (the std distributions such as
// std::normal_distribution are implementation-defined; none is used in
// src/, include/, app/ or python/src).
//
//   engine      xoshiro256** (Blackman & Vigna 2018), state seeded by splitmix64
//   uniform     53 high bits of the output / 2^53, in [0, 1)
//   index       Lemire's (2019) nearly divisionless unbiased bounded integer
//   normal      Marsaglia's polar method (pairs, the second value cached)
//   gamma       Marsaglia & Tsang (2000); shape < 1 by Stuart's u^(1/a) boost
//   binomial    inversion (BINV, Kachitvichyanukul & Schmeiser 1988) while
//               n min(p, 1-p) < 16; above, Knuth's beta split (TAOCP 2, 3.4.1):
//               exact, O(log n) gamma draws
//   multinomial conditional binomials, O(categories) whatever n is
//   shuffle     Fisher-Yates with the bounded integer above
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

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

  /// N(mean, sd^2).
  double normal(double mean, double sd) { return mean + sd * normal(); }

  /// Exponential(1), used for Dirichlet(1, ..., 1) draws.
  double exponential() { return -std::log1p(-uniform()); }

  /// true with probability p (p <= 0 never, p >= 1 always).
  bool bernoulli(double p) { return uniform() < p; }

  /// Uniform integer in [lo, hi] (inclusive), lo <= hi.
  std::int64_t integer(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(index(static_cast<std::uint64_t>(hi - lo) + 1));
  }

  /// Gamma(shape, 1), shape > 0 (Marsaglia & Tsang 2000).
  double gamma(double shape);

  /// Beta(a, b) = Ga / (Ga + Gb), a, b > 0.
  double beta(double a, double b);

  /// Binomial(n, p), n >= 0, p in [0, 1]; exact for every n (see the header
  /// comment for the method and its cost).
  std::int64_t binomial(std::int64_t n, double p);

  /// Multinomial(n, p / sum p) into out[0..k), by conditional binomials:
  /// out[j] ~ Binomial(n - out[0..j), p[j] / (p[j] + ... + p[k-1])). Weights
  /// are >= 0 with a positive sum. Stops drawing once all n are placed.
  void multinomial(std::int64_t n, const double* p, std::size_t k, std::int64_t* out);

  /// Index j with probability w[j] / sum w (weights >= 0, finite, positive
  /// sum): one uniform and a linear scan of the cumulative sum.
  std::size_t categorical(const double* w, std::size_t k);

  /// Fisher-Yates: the first min(k, n) slots become a uniform random
  /// ordered sample of the range (slot i swaps with i + index(n - i)).
  template <class It>
  void shuffle_prefix(It first, It last, std::size_t k) {
    const auto n = static_cast<std::size_t>(last - first);
    if (k > n) k = n;
    for (std::size_t i = 0; i < k && i + 1 < n; ++i) {
      const auto j = i + static_cast<std::size_t>(index(n - i));
      using std::swap;
      swap(first[i], first[j]);
    }
  }
  /// A uniformly random permutation of [first, last).
  template <class It>
  void shuffle(It first, It last) {
    shuffle_prefix(first, last, static_cast<std::size_t>(last - first));
  }

  /// The full state as text ("xoshiro256** s0 s1 s2 s3 spare-flag spare-bits",
  /// decimal) and back, for checkpoints; set_state throws InvalidArgument on
  /// a string not in that form.
  std::string state() const;
  void set_state(const std::string& text);

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
