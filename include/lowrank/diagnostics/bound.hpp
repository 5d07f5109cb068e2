#pragma once
// The rank-sparse generalization bound of Ledent, Alves & Lei, "Generalization
// Bounds for Rank-sparse Neural Networks" (NeurIPS 2025, arXiv:2510.21945),
// evaluated on measured weights. docs/diagnostics.md states the formula, the
// constants we keep and the choices made where the paper leaves a free
// parameter.
//
// For layers l = 1..L with weights A_l (fan_out x fan_in), optional reference
// (initial) weights M_l, input norm bound B, Lipschitz constants rho_l,
// margin gamma and per-layer exponents p_l in (0, 2]:
//
//   Gamma   = B * prod_i rho_i ||A_i||_2 / gamma
//   term_l  = Gamma^(2 p_l / (p_l + 2))
//             * [ sum_j sigma_j(A_l - M_l)^p_l / ||A_l||_2^p_l ]^(2 / (p_l + 2))
//             * (fan_in_l + fan_out_l)^(2 / (p_l + 2))
//   R^2     = sum_l term_l
//   bound   = sqrt(L R^2 / N)   (log factors and absolute constants dropped)
//
// Each p_l is chosen on a grid to minimise term_l (the terms are independent
// given Gamma, so this minimises R). As p -> 0, term_l -> rank(A_l - M_l) *
// (fan_in_l + fan_out_l), so R^2 -> sum_l r_l W_l ~ L r W: the parameter
// count of a rank-r network. At p_l = 2 the expression is the norm-based
// ("spectral") bound; the paper's abstract describes the family as moving from
// the rank regime to the norm regime as p grows to 2, so the grid runs over
// (0, 2] (issue 35; the theorem's own range is unverified, see
// docs/diagnostics.md).
//
// B, gamma and N carry the bound's meaning: Gamma is scale-free only once B
// and gamma are the data's, and with B = gamma = 1 a product of spectral
// norms near 1 makes the smallest p win, so R^2 is just the parameter count.
// Each one that is not given is defaulted (B = gamma = 1, no N) and named in
// RankSparseBound::warnings.
#include <string>
#include <vector>

#include "lowrank/linalg/types.hpp"

namespace lowrank::diagnostics {

/// What the bound needs of one layer.
struct BoundLayer {
  std::string name;
  Index fan_in = 0;     ///< columns of A_l
  Index fan_out = 0;    ///< rows of A_l
  double spectral = 0;  ///< ||A_l||_2
  VectorXd delta_sv;    ///< singular values of A_l - M_l (of A_l without a reference)
  double rank_tol = 0;  ///< tolerance for rank(A_l - M_l) in the p -> 0 limit
};

struct RankSparseBoundOptions {
  /// Candidate p_l, each in (0, 2]; empty = 0.02, 0.04, ..., 2.
  std::vector<double> p_grid;
  double input_norm = 0;          ///< B: bound on ||x||_2; 0 = not given (1 is used, with a warning)
  std::vector<double> lipschitz;  ///< rho_l; empty = all 1 (ReLU)
  double margin = 0;              ///< gamma; 0 = not given (1 is used, with a warning)
  double samples = 0;             ///< N; 0 = not given: report R only (bound = NaN), with a warning
};

/// B from data: the largest row norm max_i ||x_i||_2 of inputs x [n, d].
/// Throws InvalidArgument for no rows.
double input_norm_bound(const Matrix<double>& x);

struct BoundLayerTerm {
  std::string name;
  double p = 0;              ///< chosen p_l
  double term = 0;           ///< term_l at p_l
  double term_spectral = 0;  ///< term_l at p = 2
  double limit = 0;          ///< p -> 0 limit: rank(A_l - M_l) * (fan_in + fan_out)
  Index rank = 0;            ///< rank(A_l - M_l)
};

struct RankSparseBound {
  std::vector<BoundLayerTerm> layers;
  double log_gamma = 0;           ///< log of B prod rho_i ||A_i|| / gamma (kept in logs: deep products overflow)
  double r_squared = 0;           ///< sum_l term_l at the chosen p_l
  double r_squared_spectral = 0;  ///< at p_l = 2
  double r_squared_limit = 0;     ///< p -> 0 limit, sum_l rank_l (fan_in + fan_out)
  double bound = 0;               ///< sqrt(L R^2 / N), NaN without N
  double bound_spectral = 0;      ///< the same at p = 2
  double input_norm = 0;          ///< B used
  double margin = 0;              ///< gamma used
  bool input_norm_defaulted = false, margin_defaulted = false, samples_missing = false;
  /// One sentence per defaulted quantity, and when every layer's p_l is the
  /// grid's smallest (R^2 is then the p -> 0 parameter count).
  std::vector<std::string> warnings;
};

/// term_l at exponent p > 0 (p may exceed 1 for the spectral comparison).
double rank_sparse_term(const BoundLayer& layer, double log_gamma, double p);

/// Evaluates the bound. Throws InvalidArgument for no layers, p outside
/// (0, 2], negative or non-finite B or gamma, rho <= 0 or N < 0, or a
/// lipschitz list whose size is not the number of layers.
RankSparseBound rank_sparse_bound(const std::vector<BoundLayer>& layers, const RankSparseBoundOptions& options = {});

}  // namespace lowrank::diagnostics
