// lowrank._core: truncated SVD, spectral measures and principal angles.
//
// Dense inputs are copied once into the column-major Matrix<T> that
// lowrank::truncated_svd(const Matrix<T>&) takes (so the method choice, the
// BLAS threading and the random streams are exactly the C++ library's, and
// results equal the CLI's); sparse inputs become a SparseOperator built
// straight from the COO arrays. Results are moved into numpy without a copy.
#include "common.hpp"
#include "lowrank/linalg/operator.hpp"
#include "lowrank/linalg/spectral.hpp"
#include "lowrank/linalg/subspace.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank::python {

namespace {

TruncatedSvdOptions svd_options(py::dict d) {
  Options o(std::move(d));
  TruncatedSvdOptions s;  // the library's defaults, as the CLI's
  s.method = parse_svd_method(o.get<std::string>("method", to_string(s.method)));
  s.oversampling = o.get<Index>("oversampling", s.oversampling);
  s.power_iterations = o.get<int>("power_iterations", s.power_iterations);
  s.tolerance = o.get<double>("tol", s.tolerance);
  s.max_iterations = o.get<int>("max_iter", s.max_iterations);
  s.krylov_dim = o.get<Index>("krylov_dim", s.krylov_dim);
  s.seed = o.get<std::uint64_t>("seed", s.seed);
  s.compute_vectors = o.get<bool>("compute_vectors", s.compute_vectors);
  o.finish("svd");
  return s;
}

template <class T>
py::dict svd_result(SvdResult<T>&& r) {
  py::dict d;
  d["max_relative_error_bound"] = max_relative_error_bound(r);  // before S is moved out
  d["U"] = to_numpy(std::move(r.U));
  d["S"] = to_numpy(std::move(r.S));
  d["V"] = to_numpy(std::move(r.V));
  d["method"] = std::string(to_string(r.method_used));
  d["status"] = std::string(to_string(r.status));
  d["iterations"] = r.iterations;
  d["residuals"] = to_numpy(std::move(r.residuals));
  d["error_bounds"] = to_numpy(std::move(r.error_bounds));
  return d;
}

template <class T>
py::dict svd_dense(const py::array_t<T, 0>& a, Index k, py::dict options) {
  const TruncatedSvdOptions o = svd_options(std::move(options));
  Matrix<T> m = to_matrix(a, "svd");
  SvdResult<T> r;
  {
    py::gil_scoped_release nogil;
    r = truncated_svd(m, k, o);
  }
  return svd_result(std::move(r));
}

template <class T>
py::dict svd_sparse(Index rows, Index cols, const IndexArray& row, const IndexArray& col,
                    const py::array_t<T, py::array::c_style>& value, Index k, py::dict options) {
  const TruncatedSvdOptions o = svd_options(std::move(options));
  const ObservedEntries<T> e = entries_from_coo<T>(rows, cols, row, col, value);
  SvdResult<T> r;
  {
    py::gil_scoped_release nogil;
    const SparseOperator<T> op(e.rows, e.cols, e.row, e.col, e.value);
    r = truncated_svd(op, k, o);
  }
  return svd_result(std::move(r));
}

template <class T>
py::array principal_angles_py(const py::array_t<T, 0>& a, const py::array_t<T, 0>& b) {
  return to_numpy(principal_angles<T>(to_matrix(a, "principal_angles (A)"), to_matrix(b, "principal_angles (B)")));
}

template <class T>
double sin_theta_py(const py::array_t<T, 0>& a, const py::array_t<T, 0>& b) {
  return sin_theta_distance<T>(to_matrix(a, "sin_theta_distance (A)"), to_matrix(b, "sin_theta_distance (B)"));
}

template <class T>
double schatten_py(const py::array_t<T, 0>& a, double p) {
  if (a.ndim() == 1) return schatten_norm<T>(to_vector(a, "schatten_norm"), p);
  const Matrix<T> m = to_matrix(a, "schatten_norm");
  py::gil_scoped_release nogil;
  return schatten_norm<T>(m, p);
}

py::dict ranks_dict(const EffectiveRanks& r) {
  py::dict d;
  d["numerical"] = r.numerical;
  d["stable"] = r.stable;
  d["entropy"] = r.entropy;
  d["participation_ratio"] = r.participation_ratio;
  d["energy_90"] = r.energy_90;
  d["energy_99"] = r.energy_99;
  return d;
}

template <class T>
py::dict effective_ranks_py(const py::array_t<T, 0>& a) {
  const Matrix<T> m = to_matrix(a, "effective_ranks");
  EffectiveRanks r;
  {
    py::gil_scoped_release nogil;
    r = effective_ranks<T>(m);
  }
  return ranks_dict(r);
}

template <class T>
py::dict effective_ranks_sv_py(const py::array_t<T, 0>& sv, Index rows, Index cols) {
  return ranks_dict(effective_ranks<T>(to_vector(sv, "effective_ranks"), rows, cols));
}

template <class T>
void bind_svd_typed(py::module_& m) {
  m.def("svd_dense", &svd_dense<T>, py::arg("a"), py::arg("k"), py::arg("options"));
  m.def("svd_sparse", &svd_sparse<T>, py::arg("rows"), py::arg("cols"), py::arg("row"), py::arg("col"),
        py::arg("value"), py::arg("k"), py::arg("options"));
  m.def("principal_angles", &principal_angles_py<T>, py::arg("a"), py::arg("b"));
  m.def("sin_theta_distance", &sin_theta_py<T>, py::arg("a"), py::arg("b"));
  m.def("schatten_norm", &schatten_py<T>, py::arg("a"), py::arg("p"));
  m.def("effective_ranks", &effective_ranks_py<T>, py::arg("a"));
  m.def("effective_ranks_sv", &effective_ranks_sv_py<T>, py::arg("sv"), py::arg("rows"), py::arg("cols"));
}

}  // namespace

void bind_linalg(py::module_& m) {
  // Overloads are tried in order; without forcecast an array only matches
  // its own dtype, so float32 stays float32 end to end.
  bind_svd_typed<double>(m);
  bind_svd_typed<float>(m);
  m.def(
      "svd_defaults",
      [] {
        py::dict d;
        d["method"] = to_string(TruncatedSvdOptions{}.method);
        return d;
      },
      "TruncatedSvdOptions' defaults under svd's keyword names.");
}

}  // namespace lowrank::python
