#include "lowrank/core/random.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

#include "lowrank/core/error.hpp"

namespace lowrank {

namespace {
// Below this mean (of the rarer outcome) binomial draws invert the pmf
// (expected n p + 1 steps); above it Knuth's split halves n first.
constexpr double kInversionMean = 16.0;

// BINV: walk the pmf from 0 with f(x) / f(x - 1) = ((n + 1) / x - 1) p / q.
// Needs p <= 1/2 and n p < kInversionMean, so q^n >= exp(-1.39 n p) > 1e-10
// never underflows.
std::int64_t binomial_inversion(Rng& rng, std::int64_t n, double p) {
  const double q = 1.0 - p, s = p / q, a = static_cast<double>(n + 1) * s;
  const double f0 = std::exp(static_cast<double>(n) * std::log1p(-p));
  for (;;) {
    double u = rng.uniform(), f = f0;
    std::int64_t x = 0;
    while (u >= f && x <= n) {
      u -= f;
      ++x;
      f *= a / static_cast<double>(x) - s;
    }
    if (x <= n) return x;  // else rounding left u above the total mass: draw again
  }
}
}  // namespace

double Rng::gamma(double shape) {
  if (!(shape > 0.0) || !std::isfinite(shape))
    throw InvalidArgument("Rng::gamma: shape must be finite and > 0, got " + std::to_string(shape));
  if (shape < 1.0) {  // Ga(a) = Ga(a + 1) U^(1/a)
    const double g = gamma(shape + 1.0);
    return g * std::pow(uniform_open0(), 1.0 / shape);
  }
  // Marsaglia & Tsang (2000): d v for v = (1 + c z)^3, accepted with the
  // squeeze 1 - 0.0331 z^4 or the exact log test.
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double z, v;
    do {
      z = normal();
      v = 1.0 + c * z;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open0();
    const double z2 = z * z;
    if (u < 1.0 - 0.0331 * z2 * z2) return d * v;
    if (std::log(u) < 0.5 * z2 + d * (1.0 - v + std::log(v))) return d * v;
  }
}

double Rng::beta(double a, double b) {
  const double x = gamma(a), y = gamma(b);
  return x / (x + y);
}

std::int64_t Rng::binomial(std::int64_t n, double p) {
  if (n < 0) throw InvalidArgument("Rng::binomial: n must be >= 0, got " + std::to_string(n));
  if (!(p >= 0.0 && p <= 1.0)) throw InvalidArgument("Rng::binomial: p must be in [0, 1], got " + std::to_string(p));
  std::int64_t base = 0;  // successes already counted
  // Knuth, TAOCP vol. 2, 3.4.1: the a-th smallest X of n uniforms is
  // Beta(a, n + 1 - a). If X >= p, the successes are the a - 1 uniforms
  // below X that fall below p: Binomial(a - 1, p / X). Otherwise the a
  // smallest all succeed and each of the b - 1 above X does with
  // probability (p - X) / (1 - X). n halves per step.
  while (n > 0 && p > 0.0 && p < 1.0 && static_cast<double>(n) * std::min(p, 1.0 - p) >= kInversionMean) {
    const std::int64_t a = 1 + n / 2, b = n + 1 - a;
    const double x = beta(static_cast<double>(a), static_cast<double>(b));
    if (x >= p) {
      n = a - 1;
      p = p / x;
    } else {
      base += a;
      n = b - 1;
      p = (p - x) / (1.0 - x);
    }
  }
  if (n == 0 || p <= 0.0) return base;
  if (p >= 1.0) return base + n;
  if (p > 0.5) return base + n - binomial_inversion(*this, n, 1.0 - p);
  return base + binomial_inversion(*this, n, p);
}

void Rng::multinomial(std::int64_t n, const double* p, std::size_t k, std::int64_t* out) {
  if (n < 0) throw InvalidArgument("Rng::multinomial: n must be >= 0, got " + std::to_string(n));
  if (k == 0) throw InvalidArgument("Rng::multinomial: no categories");
  double mass = 0.0;
  for (std::size_t j = 0; j < k; ++j) {
    if (!(p[j] >= 0.0) || !std::isfinite(p[j]))
      throw InvalidArgument("Rng::multinomial: weight " + std::to_string(j) + " is not finite and >= 0");
    mass += p[j];
  }
  if (!(mass > 0.0)) throw InvalidArgument("Rng::multinomial: the weights sum to 0");
  std::fill(out, out + k, std::int64_t{0});
  std::int64_t left = n;
  for (std::size_t j = 0; j < k && left > 0; ++j) {
    std::int64_t x = left;  // the last category (or one left with all the mass) takes the rest
    if (j + 1 < k && mass > 0.0) {
      const double q = std::clamp(p[j] / mass, 0.0, 1.0);
      x = q >= 1.0 ? left : binomial(left, q);
    }
    out[j] = x;
    left -= x;
    mass -= p[j];
  }
}

std::size_t Rng::categorical(const double* w, std::size_t k) {
  double total = 0.0;
  for (std::size_t j = 0; j < k; ++j) {
    if (!(w[j] >= 0.0) || !std::isfinite(w[j]))
      throw InvalidArgument("Rng::categorical: weight " + std::to_string(j) + " is not finite and >= 0");
    total += w[j];
  }
  if (!(total > 0.0)) throw InvalidArgument("Rng::categorical: the weights sum to 0");
  const double u = uniform() * total;
  double cum = 0.0;
  std::size_t last = 0;
  for (std::size_t j = 0; j < k; ++j) {
    if (w[j] <= 0.0) continue;
    cum += w[j];
    last = j;
    if (u < cum) return j;
  }
  return last;  // u landed in the rounding gap between cum and total
}

std::string Rng::state() const {
  std::uint64_t spare_bits;
  static_assert(sizeof spare_bits == sizeof m_spare);
  std::memcpy(&spare_bits, &m_spare, sizeof spare_bits);
  std::ostringstream os;
  os << "xoshiro256** " << m_s[0] << ' ' << m_s[1] << ' ' << m_s[2] << ' ' << m_s[3] << ' ' << (m_has_spare ? 1 : 0)
     << ' ' << spare_bits;
  return os.str();
}

void Rng::set_state(const std::string& text) {
  std::istringstream is(text);
  std::string tag;
  std::uint64_t s[4], spare_bits;
  int has_spare = -1;
  is >> tag >> s[0] >> s[1] >> s[2] >> s[3] >> has_spare >> spare_bits;
  std::string rest;
  if (is.fail() || tag != "xoshiro256**" || (has_spare != 0 && has_spare != 1) || (is >> rest))
    throw InvalidArgument("malformed RNG state (expected 'xoshiro256** s0 s1 s2 s3 flag spare')");
  if ((s[0] | s[1] | s[2] | s[3]) == 0) throw InvalidArgument("malformed RNG state (all-zero xoshiro state)");
  std::copy(s, s + 4, m_s);
  m_has_spare = has_spare == 1;
  std::memcpy(&m_spare, &spare_bits, sizeof m_spare);
}

}  // namespace lowrank
