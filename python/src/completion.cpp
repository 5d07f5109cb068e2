// lowrank._core: completion estimators (soft-impute with its lambda path and
// k-fold CV, hard-rank and robust ALS, robust PCA) and their fitted model.
//
// Both this module and `lowrank complete` call lowrank::fit_completion()
// (completion/fit.hpp) with the same options struct, so the same data,
// options and seed give the CLI's numbers.
#include <algorithm>

#include "common.hpp"
#include "lowrank/completion/als.hpp"
#include "lowrank/completion/convert.hpp"
#include "lowrank/completion/fit.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/completion/path.hpp"
#include "lowrank/completion/robust_pca.hpp"
#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/fit.hpp"

namespace lowrank::python {

namespace {

template <class T>
py::array vector_or_empty(const Vector<T>& v) {
  return py::cast(Vector<T>(v)).template cast<py::array>();
}

template <class T>
void bind_model(py::module_& m, const char* name) {
  using M = CompletionModel<T>;
  py::class_<M>(m, name, "Fitted low-rank completion model (see lowrank/completion/model.hpp)")
      .def(py::init<>())
      .def_readonly("rows", &M::rows)
      .def_readonly("cols", &M::cols)
      // Zero-copy views into the model, kept alive by it.
      .def_property_readonly(
          "U", [](const M& s) { return Eigen::Ref<const Matrix<T>>(s.U); }, py::return_value_policy::reference_internal)
      .def_property_readonly(
          "d", [](const M& s) { return Eigen::Ref<const Vector<T>>(s.d); }, py::return_value_policy::reference_internal)
      .def_property_readonly(
          "V", [](const M& s) { return Eigen::Ref<const Matrix<T>>(s.V); }, py::return_value_policy::reference_internal)
      .def_property_readonly("global_offset", [](const M& s) { return static_cast<double>(s.global_offset); })
      .def_property_readonly("row_offset", [](const M& s) { return vector_or_empty(s.row_offset); })
      .def_property_readonly("col_offset", [](const M& s) { return vector_or_empty(s.col_offset); })
      .def_property_readonly("row_scale", [](const M& s) { return vector_or_empty(s.row_scale); })
      .def_property_readonly("col_scale", [](const M& s) { return vector_or_empty(s.col_scale); })
      .def("rank", &M::rank)
      // GAME's group parts: a list of dicts name, rows (member rows), U, d, V;
      // empty for every other method.
      .def_property_readonly("groups",
                             [](const M& s) {
                               py::list out;
                               for (const auto& g : s.groups) {
                                 py::dict d;
                                 d["name"] = g.name;
                                 d["rows"] = to_numpy_vector(g.rows);
                                 d["U"] = g.U;
                                 d["d"] = g.d;
                                 d["V"] = g.V;
                                 out.append(d);
                               }
                               return out;
                             })
      // The sparse part (robust PCA's S on the observed entries): three
      // arrays rows, cols, values, sorted by (row, col); empty otherwise.
      .def_property_readonly("sparse",
                             [](const M& s) {
                               std::vector<std::int64_t> r(s.sparse.row.begin(), s.sparse.row.end());
                               std::vector<std::int64_t> c(s.sparse.col.begin(), s.sparse.col.end());
                               return py::make_tuple(to_numpy_vector(r), to_numpy_vector(c),
                                                     to_numpy_vector(s.sparse.value));
                             })
      .def(
          "predict",
          [](const M& s, const IndexArray& row, const IndexArray& col) {
            if (row.ndim() != 1 || col.ndim() != 1)
              throw InvalidArgument("predict: rows and cols must be 1-D integer arrays");
            std::vector<std::int32_t> r(row.data(), row.data() + row.size());
            std::vector<std::int32_t> c(col.data(), col.data() + col.size());
            std::vector<T> out;
            {
              py::gil_scoped_release nogil;
              out = s.predict(r, c);
            }
            return to_numpy_vector(out);
          },
          py::arg("rows"), py::arg("cols"))
      .def("to_dense",
           [](const M& s) {
             Matrix<T> z;
             {
               py::gil_scoped_release nogil;
               z = s.to_dense();
             }
             return to_numpy(std::move(z));
           })
      .def(py::pickle(
          [](const M& s) {
            py::list groups;  // GAME's group parts: (name, member rows, U, d, V) each
            for (const auto& g : s.groups) groups.append(py::make_tuple(g.name, g.rows, g.U, g.d, g.V));
            return py::make_tuple(s.rows, s.cols, s.U, s.d, s.V, static_cast<double>(s.global_offset), s.row_offset,
                                  s.col_offset, s.row_scale, s.col_scale, s.sparse.row, s.sparse.col, s.sparse.value,
                                  groups);
          },
          [](py::tuple t) {
            // 10 fields: pickled before the sparse part existed; 13: before the group parts.
            if (t.size() != 10 && t.size() != 13 && t.size() != 14)
              throw InvalidArgument("CompletionModel: bad pickle state");
            M s;
            s.rows = t[0].cast<Index>();
            s.cols = t[1].cast<Index>();
            s.U = t[2].cast<Matrix<T>>();
            s.d = t[3].cast<Vector<T>>();
            s.V = t[4].cast<Matrix<T>>();
            s.global_offset = static_cast<T>(t[5].cast<double>());
            s.row_offset = t[6].cast<Vector<T>>();
            s.col_offset = t[7].cast<Vector<T>>();
            s.row_scale = t[8].cast<Vector<T>>();
            s.col_scale = t[9].cast<Vector<T>>();
            if (t.size() >= 13) {
              s.sparse.row = t[10].cast<std::vector<std::int32_t>>();
              s.sparse.col = t[11].cast<std::vector<std::int32_t>>();
              s.sparse.value = t[12].cast<std::vector<T>>();
            }
            if (t.size() == 14)
              for (const py::handle h : t[13].cast<py::list>()) {
                const auto g = h.cast<py::tuple>();
                if (g.size() != 5) throw InvalidArgument("CompletionModel: bad pickle state (group part)");
                LowRankGroupPart<T> part;
                part.name = g[0].cast<std::string>();
                part.rows = g[1].cast<std::vector<Index>>();
                part.U = g[2].cast<Matrix<T>>();
                part.d = g[3].cast<Vector<T>>();
                part.V = g[4].cast<Matrix<T>>();
                s.groups.push_back(std::move(part));
              }
            s.check("CompletionModel pickle state");  // predict() trusts these shapes
            return s;
          }));
}

py::dict path_table(const std::vector<PathPoint>& points) {
  py::dict d;
  d["lambda"] = column(points, &PathPoint::lambda);
  d["rank"] = column(points, &PathPoint::rank);
  d["iterations"] = column(points, &PathPoint::iterations);
  d["objective"] = column(points, &PathPoint::objective);
  d["train_rmse"] = column(points, &PathPoint::train_rmse);
  d["seconds"] = column(points, &PathPoint::seconds);
  return d;
}

/// Soft-impute settings, read from the options dict while the GIL is held;
/// an absent key keeps the library's default (CompletionFitOptions).
CompletionFitOptions soft_impute_options(Options& o) {
  CompletionFitOptions c;
  SoftImputeOptions& base = c.soft_impute;
  if (auto r = o.optional<Index>("max_rank")) base.max_rank = *r;
  c.method = parse_soft_impute_variant(o.get<std::string>("variant", to_string(base.variant))) == SoftImputeVariant::Svd
                 ? CompletionMethod::SoftImputeSvd
                 : CompletionMethod::SoftImpute;
  base.tolerance = o.get<double>("tol", base.tolerance);
  base.max_iterations = o.get<int>("max_iter", base.max_iterations);
  base.final_svd = o.get<bool>("final_svd", base.final_svd);
  base.debias = o.get<bool>("debias", base.debias);
  base.threads = o.get<int>("threads", base.threads);
  c.seed = o.get<std::uint64_t>("seed", c.seed);
  c.centering = parse_centering(o.get<std::string>("centering", to_string(c.centering)));
  c.lambda = o.optional<double>("lam");
  c.lambda_count = o.get<int>("n_lambdas", c.lambda_count);
  c.min_ratio = o.get<double>("min_ratio", c.min_ratio);
  c.folds = o.get<int>("cv", c.folds);
  c.patience = o.get<int>("patience", c.patience);
  c.max_iteration_rounds = o.get<int>("max_iteration_rounds", c.max_iteration_rounds);
  c.bias_shrinkage = o.get<double>("bias_shrinkage", c.bias_shrinkage);
  c.cv_scaling = parse_cv_lambda_scaling(o.get<std::string>("cv_scaling", to_string(c.cv_scaling)));
  c.float32 = o.get<bool>("float32", c.float32);
  return c;
}

/// The library's defaults, which the Python estimators use as theirs.
py::dict completion_defaults() {
  const CompletionFitOptions c;
  py::dict d;
  d["max_rank"] = c.soft_impute.max_rank;
  d["cv"] = c.folds;
  d["n_lambdas"] = c.lambda_count;
  d["min_ratio"] = c.min_ratio;
  d["centering"] = std::string(to_string(c.centering));
  d["bias_shrinkage"] = c.bias_shrinkage;
  d["tol"] = c.soft_impute.tolerance;
  d["max_iter"] = c.soft_impute.max_iterations;
  d["max_iteration_rounds"] = c.max_iteration_rounds;
  d["patience"] = c.patience;
  d["cv_scaling"] = to_string(c.cv_scaling);
  d["variant"] = to_string(c.soft_impute.variant);
  d["als_rank"] = c.als.rank;
  d["als_lam"] = c.als.lambda;
  d["als_tol"] = c.als.tolerance;
  d["als_max_iter"] = c.als.max_iterations;
  d["als_clip_factor"] = c.als.clip_factor;
  d["als_weighting"] = to_string(c.als.weighting);
  d["als_init"] = to_string(c.als.init);
  d["recommend_top"] = kDefaultRecommendations;
  return d;
}

CompletionFitOptions als_options(Options& o, bool robust) {
  CompletionFitOptions c;
  c.method = robust ? CompletionMethod::RobustAls : CompletionMethod::Als;
  c.max_iteration_rounds = o.get<int>("max_iteration_rounds", c.max_iteration_rounds);
  AlsOptions& a = c.als;
  a.rank = o.get<Index>("rank", a.rank);
  a.lambda = o.get<double>("lam", a.lambda);
  a.weighting = parse_regularization_weighting(o.get<std::string>("weighting", to_string(a.weighting)));
  a.init = parse_als_initialization(o.get<std::string>("init", to_string(a.init)));
  a.biases = o.get<bool>("biases", a.biases);
  a.bias_lambda = o.optional<double>("bias_lam");
  a.clip_factor = o.get<double>("clip_factor", a.clip_factor);
  a.clip_threshold = o.get<double>("clip_threshold", a.clip_threshold);
  a.scale_iterations = o.get<int>("scale_iterations", a.scale_iterations);
  a.tolerance = o.get<double>("tol", a.tolerance);
  a.max_iterations = o.get<int>("max_iter", a.max_iterations);
  c.seed = o.get<std::uint64_t>("seed", c.seed);
  a.threads = o.get<int>("threads", a.threads);
  c.float32 = o.get<bool>("float32", c.float32);
  // cv > 0: the L2 weight by k-fold CV over the log grid from
  // als_lambda_max() (the CLI's --method als --cv K); else one fit at lam.
  c.folds = o.get<int>("cv", 0);
  c.lambda_count = o.get<int>("n_lambdas", c.lambda_count);
  c.min_ratio = o.get<double>("min_ratio", c.min_ratio);
  c.patience = o.get<int>("patience", c.patience);
  c.als_path = c.folds > 0;
  if (!c.als_path) c.lambda = a.lambda;
  return c;
}

}  // namespace

template <class T>
py::dict fit_dict(CompletionFit<T>&& fit, bool interrupted) {
  py::dict d;
  d["objective_trace"] = to_numpy_vector(fit.objective_trace);
  d["iterations"] = fit.iterations;
  d["status"] = std::string(to_string(fit.status));
  d["stop_reason"] = fit.stop_reason;
  d["caps_bound"] = fit.caps_bound;
  d["centering"] = std::string(to_string(fit.centering));
  py::dict scores;
  for (const auto& c : fit.centering_scores)
    scores[to_string(c.centering)] = py::make_tuple(c.best_rmse, c.best_lambda);
  d["centering_scores"] = scores;
  d["max_rank"] = fit.max_rank;
  d["lambda"] = fit.lambda;
  d["lambda_max"] = fit.lambda_max;
  d["elapsed_s"] = fit.elapsed_s;
  d["warnings"] = fit.warnings;
  d["interrupted"] = interrupted;
  d["cv"] = fit.cv ? py::object(cv_table(fit.cv->table, fit.cv->best_index)) : py::object(py::none());
  d["path"] = fit.path ? py::object(path_table(fit.path->points)) : py::object(py::none());
  d["model"] = py::cast(std::move(fit.model));
  return d;
}
template py::dict fit_dict(CompletionFit<float>&&, bool);
template py::dict fit_dict(CompletionFit<double>&&, bool);

namespace {

template <class T>
py::dict complete(Index rows, Index cols, const IndexArray& row, const IndexArray& col,
                  const py::array_t<T, py::array::c_style>& value, const std::string& method, py::dict options,
                  py::object progress) {
  ObservedEntries<T> data = entries_from_coo<T>(rows, cols, row, col, value);
  Options o(std::move(options));
  const bool soft = method == "soft-impute";
  if (!soft && method != "als" && method != "robust-als")
    throw InvalidArgument("method must be 'soft-impute', 'als' or 'robust-als', got '" + method + "'");
  CompletionFitOptions c = soft ? soft_impute_options(o) : als_options(o, method == "robust-als");
  o.finish(method.c_str());
  // Path events and the solvers' iterations both reach the bridge, which
  // polls Ctrl-C at each; data is this call's own copy.
  FitOptions fo;  // the one entry of every method (GAME: game.cpp)
  fo.completion = c;
  auto [fit, interrupted] = run_with_progress(
      std::move(progress), [&] { return fit_in_place(data, fo); }, fo.completion.progress,
      fo.completion.solver_progress);
  return fit_dict(std::move(fit), interrupted);
}

template <class T>
py::dict rpca_result(RobustPcaResult<T>&& r, bool interrupted) {
  py::dict d;
  // L and S as dense arrays, as before the result held a model (L + S).
  d["L"] = to_numpy(r.model.low_rank_dense());
  Matrix<T> s = Matrix<T>::Zero(r.model.rows, r.model.cols);
  for (std::size_t k = 0; k < r.model.sparse.nnz(); ++k)
    s(r.model.sparse.row[k], r.model.sparse.col[k]) = r.model.sparse.value[k];
  d["S"] = to_numpy(std::move(s));
  d["rank"] = r.rank;
  d["model"] = std::move(r.model);  // L as factors plus S as the sparse part: predict(i, j) = L + S
  d["objective_trace"] = to_numpy_vector(r.objective_trace);
  d["residual_trace"] = to_numpy_vector(r.residual_trace);
  d["iterations"] = r.iterations;
  d["status"] = std::string(to_string(r.status));
  d["lambda"] = r.lambda;
  d["elapsed_s"] = r.elapsed_s;
  d["interrupted"] = interrupted;
  return d;
}

RobustPcaOptions rpca_options(Options& o) {
  RobustPcaOptions r;
  r.lambda = o.optional<double>("lam");
  r.mu = o.optional<double>("mu");
  r.rho = o.get<double>("rho", r.rho);
  r.mu_max_factor = o.get<double>("mu_max_factor", r.mu_max_factor);
  r.tolerance = o.get<double>("tol", r.tolerance);
  r.max_iterations = o.get<int>("max_iter", r.max_iterations);
  o.finish("robust_pca");
  return r;
}

/// Robust PCA on observed entries (the CLI's path: `complete --method rpca`).
template <class T>
py::dict rpca_entries(Index rows, Index cols, const IndexArray& row, const IndexArray& col,
                      const py::array_t<T, py::array::c_style>& value, py::dict options, py::object progress) {
  const ObservedEntries<T> data = entries_from_coo<T>(rows, cols, row, col, value);
  Options o(std::move(options));
  RobustPcaOptions r = rpca_options(o);
  auto [res, interrupted] = run_with_progress(
      std::move(progress), [&] { return robust_pca(data, r); }, r.progress);
  return rpca_result(std::move(res), interrupted);
}

/// Robust PCA of a fully observed dense matrix.
template <class T>
py::dict rpca_dense(const py::array_t<T, 0>& a, py::dict options, py::object progress) {
  const Matrix<T> d = to_matrix(a, "robust_pca");
  Options o(std::move(options));
  RobustPcaOptions r = rpca_options(o);
  auto [res, interrupted] = run_with_progress(
      std::move(progress), [&] { return robust_pca(d, r); }, r.progress);
  return rpca_result(std::move(res), interrupted);
}

/// The SVD-form model of a dense low-rank matrix (RPCA's L, GAME's Z).
template <class T>
CompletionModel<T> model_from_dense_py(const py::array_t<T, 0>& a, Index rank) {
  const Matrix<T> z = to_matrix(a, "model_from_dense");
  return model_from_dense(z, rank);
}

template <class T>
py::array lambda_max_py(Index rows, Index cols, const IndexArray& row, const IndexArray& col,
                        const py::array_t<T, py::array::c_style>& value) {
  const ObservedEntries<T> data = entries_from_coo<T>(rows, cols, row, col, value);
  std::vector<double> out{lambda_max(data)};
  return to_numpy_vector(out);
}

template <class T>
void bind_completion_typed(py::module_& m) {
  m.def("complete", &complete<T>, py::arg("rows"), py::arg("cols"), py::arg("row"), py::arg("col"), py::arg("value"),
        py::arg("method"), py::arg("options"), py::arg("progress") = py::none());
  m.def("robust_pca_entries", &rpca_entries<T>, py::arg("rows"), py::arg("cols"), py::arg("row"), py::arg("col"),
        py::arg("value"), py::arg("options"), py::arg("progress") = py::none());
  m.def("robust_pca_dense", &rpca_dense<T>, py::arg("a"), py::arg("options"), py::arg("progress") = py::none());
  m.def("model_from_dense", &model_from_dense_py<T>, py::arg("a"), py::arg("rank"));
  m.def("lambda_max", &lambda_max_py<T>, py::arg("rows"), py::arg("cols"), py::arg("row"), py::arg("col"),
        py::arg("value"));
}

}  // namespace

py::dict cv_table(const std::vector<CrossValidationRow>& rows, std::size_t best_index) {
  py::dict d;
  d["lambda"] = column(rows, &CrossValidationRow::lambda);
  d["mean_rmse"] = column(rows, &CrossValidationRow::mean_rmse);
  d["sd_rmse"] = column(rows, &CrossValidationRow::sd_rmse);
  d["mean_mae"] = column(rows, &CrossValidationRow::mean_mae);
  d["mean_rank"] = column(rows, &CrossValidationRow::mean_rank);
  d["folds"] = column(rows, &CrossValidationRow::folds);
  d["best_index"] = best_index;
  return d;
}

void bind_completion(py::module_& m) {
  m.def("completion_defaults", &completion_defaults,
        "The library's defaults of fit_completion (lowrank/completion/fit.hpp), used by the estimators");
  m.def(
      "robust_pca_defaults", [] { return defaults_of(rpca_options); },
      "The library's defaults of robust_pca (lowrank/completion/robust_pca.hpp), used by RobustPCA");
  bind_model<double>(m, "CompletionModel64");
  bind_model<float>(m, "CompletionModel32");
  bind_completion_typed<double>(m);
  bind_completion_typed<float>(m);
}

}  // namespace lowrank::python
