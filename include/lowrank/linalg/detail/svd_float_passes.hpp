#pragma once
// Krylov with float products on a dense double matrix (issue 29's "float32
// passes with a double refinement"). Measured and not the default: on the
// reference VM the first touch of the float copy costs about what its
// products save (docs/svd.md, "Float passes"). Kept here, out of
// TruncatedSvdOptions, for tests and benchmarks on other machines.
#include "lowrank/linalg/svd.hpp"

namespace lowrank::detail {

/// truncated_svd(a, k) with method Krylov, its Krylov basis built from a float
/// copy of `a` (scaled by a power of two), then double block steps of width
/// k + oversampling from the float Ritz vectors until every error bound meets
/// `options.tolerance`: residuals and bounds are double ones, as in a plain
/// run. Falls back to the plain double run when k is too close to min(m, n)
/// for the double block or when A is zero or not finite. Throws as truncated_svd.
SvdResult<double> krylov_svd_float_passes(const Matrix<double>& a, Index k, const TruncatedSvdOptions& options = {});

}  // namespace lowrank::detail
