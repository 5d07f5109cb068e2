// lowrank._core: completion estimators (soft-impute with its lambda path and
// k-fold CV, hard-rank and robust ALS, robust PCA) and their fitted model.
//
// The path / CV driver below is the same sequence of library calls as
// `lowrank complete` (app/cmd_complete.cpp, fit_soft_impute): grid from
// lambda_max, cross_validate over it, then fit_path down to the chosen lambda.
// Same data, options and seed give the CLI's numbers.
#include <algorithm>

#include "common.hpp"
#include "lowrank/completion/als.hpp"
#include "lowrank/completion/convert.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/completion/path.hpp"
#include "lowrank/completion/robust_pca.hpp"
#include "lowrank/completion/soft_impute.hpp"

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
      .def_property_readonly("U", [](const M& s) { return Eigen::Ref<const Matrix<T>>(s.U); },
                             py::return_value_policy::reference_internal)
      .def_property_readonly("d", [](const M& s) { return Eigen::Ref<const Vector<T>>(s.d); },
                             py::return_value_policy::reference_internal)
      .def_property_readonly("V", [](const M& s) { return Eigen::Ref<const Matrix<T>>(s.V); },
                             py::return_value_policy::reference_internal)
      .def_property_readonly("global_offset", [](const M& s) { return static_cast<double>(s.global_offset); })
      .def_property_readonly("row_offset", [](const M& s) { return vector_or_empty(s.row_offset); })
      .def_property_readonly("col_offset", [](const M& s) { return vector_or_empty(s.col_offset); })
      .def_property_readonly("row_scale", [](const M& s) { return vector_or_empty(s.row_scale); })
      .def_property_readonly("col_scale", [](const M& s) { return vector_or_empty(s.col_scale); })
      .def("rank", &M::rank)
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
            return py::make_tuple(s.rows, s.cols, s.U, s.d, s.V, static_cast<double>(s.global_offset), s.row_offset,
                                  s.col_offset, s.row_scale, s.col_scale);
          },
          [](py::tuple t) {
            if (t.size() != 10) throw InvalidArgument("CompletionModel: bad pickle state");
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
            s.check("CompletionModel pickle state");  // predict() trusts these shapes
            return s;
          }));
}

py::dict cv_table(const std::vector<CrossValidationRow>& rows, std::size_t best_index) {
  std::vector<double> lambda, mean_rmse, sd_rmse, mean_mae, mean_rank;
  std::vector<int> folds;
  for (const auto& r : rows) {
    lambda.push_back(r.lambda);
    mean_rmse.push_back(r.mean_rmse);
    sd_rmse.push_back(r.sd_rmse);
    mean_mae.push_back(r.mean_mae);
    mean_rank.push_back(r.mean_rank);
    folds.push_back(r.folds);
  }
  py::dict d;
  d["lambda"] = to_numpy_vector(lambda);
  d["mean_rmse"] = to_numpy_vector(mean_rmse);
  d["sd_rmse"] = to_numpy_vector(sd_rmse);
  d["mean_mae"] = to_numpy_vector(mean_mae);
  d["mean_rank"] = to_numpy_vector(mean_rank);
  d["folds"] = to_numpy_vector(folds);
  d["best_index"] = best_index;
  return d;
}

py::dict path_table(const std::vector<PathPoint>& points) {
  std::vector<double> lambda, objective, train_rmse, seconds;
  std::vector<Index> rank;
  std::vector<int> iterations;
  for (const auto& p : points) {
    lambda.push_back(p.lambda);
    rank.push_back(p.rank);
    iterations.push_back(p.iterations);
    objective.push_back(p.objective);
    train_rmse.push_back(p.train_rmse);
    seconds.push_back(p.seconds);
  }
  py::dict d;
  d["lambda"] = to_numpy_vector(lambda);
  d["rank"] = to_numpy_vector(rank);
  d["iterations"] = to_numpy_vector(iterations);
  d["objective"] = to_numpy_vector(objective);
  d["train_rmse"] = to_numpy_vector(train_rmse);
  d["seconds"] = to_numpy_vector(seconds);
  return d;
}

/// What one `complete` call hands back; built with the GIL held.
template <class T>
struct Fit {
  CompletionModel<T> model;
  std::vector<double> objective_trace;
  int iterations = 0;
  Status status = Status::Success;
  double lambda = 0;
  double lambda_max = -1;
  double elapsed_s = 0;
  std::vector<std::string> warnings;
  std::optional<CrossValidationResult<T>> cv;
  std::optional<PathResult<T>> path;
};

template <class T>
void take(Fit<T>& fit, CompletionResult<T>&& r) {
  fit.model = std::move(r.model);
  fit.objective_trace = std::move(r.objective_trace);
  fit.iterations = r.iterations;
  fit.status = r.status;
  fit.lambda = r.lambda;
  fit.elapsed_s = r.elapsed_s;
  fit.warnings = std::move(r.warnings);
}

/// Soft-impute settings, read from the options dict while the GIL is held.
struct SoftImputeConfig {
  SoftImputeOptions base;
  std::optional<double> lam;
  int count = 20;
  double min_ratio = 1e-3;
  int folds = 5;
  int patience = 3;
  CvLambdaScaling cv_scaling = CvLambdaScaling::SqrtEntries;
};

SoftImputeConfig soft_impute_config(Options& o, Index rows, Index cols) {
  SoftImputeConfig c;
  SoftImputeOptions& base = c.base;
  base.max_rank = o.get<Index>("max_rank", std::min<Index>({rows, cols, 50}));
  base.variant = parse_soft_impute_variant(o.get<std::string>("variant", "als"));
  base.tolerance = o.get<double>("tol", base.tolerance);
  base.max_iterations = o.get<int>("max_iter", base.max_iterations);
  base.final_svd = o.get<bool>("final_svd", base.final_svd);
  base.debias = o.get<bool>("debias", base.debias);
  base.seed = o.get<std::uint64_t>("seed", 0);
  base.threads = o.get<int>("threads", 0);
  const std::string scaling = o.get<std::string>("scaling", "none");
  if (scaling == "center" || scaling == "scale") {
    BiScaleOptions b;
    b.row_scale = b.col_scale = scaling == "scale";
    base.scaling = b;
  } else if (scaling != "none") {
    throw InvalidArgument("scaling must be 'none', 'center' or 'scale', got '" + scaling + "'");
  }
  c.lam = o.optional<double>("lam");
  c.count = o.get<int>("n_lambdas", c.count);
  c.min_ratio = o.get<double>("min_ratio", c.min_ratio);
  c.folds = o.get<int>("cv", c.folds);
  c.patience = o.get<int>("patience", c.patience);
  c.cv_scaling = parse_cv_lambda_scaling(o.get<std::string>("cv_scaling", "sqrt"));
  return c;
}

template <class T>
Fit<T> fit_soft_impute(const ObservedEntries<T>& data, const SoftImputeConfig& c, const ProgressCallback& progress) {
  const SoftImputeOptions& base = c.base;
  Fit<T> fit;
  if (c.lam) {
    SoftImputeOptions s = base;
    s.lambda = *c.lam;
    s.progress = progress;
    take(fit, soft_impute(data, s));
    return fit;
  }
  fit.lambda_max = lambda_max(data, base.scaling);
  const std::vector<double> grid = log_lambda_grid(fit.lambda_max, c.count, c.min_ratio);
  PathFitFunction<T> fn = [&base](const ObservedEntries<T>& d, double lambda, const CompletionModel<T>* warm) {
    SoftImputeOptions s = base;
    s.lambda = lambda;
    return soft_impute(d, s, warm);
  };
  std::vector<double> final_grid = grid;
  if (c.folds > 0) {
    CrossValidationOptions cvo;
    cvo.folds = c.folds;
    cvo.seed = base.seed;
    cvo.patience = c.patience;
    cvo.lambda_scaling = c.cv_scaling;
    cvo.progress = progress;
    fit.cv = cross_validate(data, grid, fn, cvo);
    final_grid.assign(grid.begin(), grid.begin() + static_cast<std::ptrdiff_t>(fit.cv->best_index) + 1);
    if (fit.cv->status == Status::Interrupted) {
      fit.status = Status::Interrupted;
      return fit;
    }
  }
  fit.path = fit_path(data, final_grid, fn, false, progress);
  fit.model = std::move(fit.path->models.back());
  const PathPoint& last = fit.path->points.back();
  fit.lambda = last.lambda;
  fit.iterations = last.iterations;
  fit.objective_trace = {last.objective};
  fit.status = fit.path->status == Status::Interrupted ? Status::Interrupted : last.status;
  for (const auto& p : fit.path->points) fit.elapsed_s += p.seconds;
  return fit;
}

// A string option that names one of two enum values (the Python side checks
// too; this is the message for direct _core callers).
template <class E>
E two_way_choice(Options& o, const char* key, const char* first, E first_value, const char* second,
                 E second_value) {
  const std::string v = o.get<std::string>(key, first);
  if (v == first) return first_value;
  if (v == second) return second_value;
  throw InvalidArgument(std::string(key) + " must be '" + first + "' or '" + second + "', got '" + v + "'");
}

AlsOptions als_options(Options& o, Index rows, Index cols, bool robust) {
  AlsOptions a;
  a.rank = o.get<Index>("rank", std::min<Index>({rows, cols, 10}));
  a.lambda = o.get<double>("lam", a.lambda);
  a.weighting = two_way_choice(o, "weighting", "frequency", RegularizationWeighting::Frequency, "uniform",
                               RegularizationWeighting::Uniform);
  a.init = two_way_choice(o, "init", "random", AlsInitialization::Random, "spectral", AlsInitialization::Spectral);
  a.biases = o.get<bool>("biases", false);
  a.bias_lambda = o.optional<double>("bias_lam");
  a.robust = robust;
  a.clip_factor = o.get<double>("clip_factor", a.clip_factor);
  a.clip_threshold = o.get<double>("clip_threshold", a.clip_threshold);
  a.scale_iterations = o.get<int>("scale_iterations", a.scale_iterations);
  a.tolerance = o.get<double>("tol", a.tolerance);
  a.max_iterations = o.get<int>("max_iter", a.max_iterations);
  a.seed = o.get<std::uint64_t>("seed", 0);
  a.threads = o.get<int>("threads", 0);
  return a;
}

template <class T>
py::dict fit_dict(Fit<T>&& fit, bool interrupted) {
  py::dict d;
  d["objective_trace"] = to_numpy_vector(fit.objective_trace);
  d["iterations"] = fit.iterations;
  d["status"] = std::string(to_string(fit.status));
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

template <class T>
py::dict complete(Index rows, Index cols, const IndexArray& row, const IndexArray& col,
                  const py::array_t<T, py::array::c_style>& value, const std::string& method, py::dict options,
                  py::object progress) {
  const ObservedEntries<T> data = entries_from_coo<T>(rows, cols, row, col, value);
  Options o(std::move(options));
  const bool soft = method == "soft-impute";
  if (!soft && method != "als" && method != "robust-als")
    throw InvalidArgument("method must be 'soft-impute', 'als' or 'robust-als', got '" + method + "'");
  SoftImputeConfig sc;
  AlsOptions ao;
  if (soft) {
    sc = soft_impute_config(o, rows, cols);
  } else {
    ao = als_options(o, rows, cols, method == "robust-als");
  }
  o.finish(method.c_str());
  ProgressBridge bridge(std::move(progress));
  const ProgressCallback cb = bridge.callback();
  Fit<T> fit;
  {
    py::gil_scoped_release nogil;
    if (soft) {
      fit = fit_soft_impute(data, sc, cb);
    } else {
      ao.progress = cb;
      take(fit, als(data, ao));
    }
  }
  const bool interrupted = bridge.finish(true);
  return fit_dict(std::move(fit), interrupted);
}

template <class T>
py::dict rpca_result(RobustPcaResult<T>&& r, bool interrupted) {
  py::dict d;
  d["L"] = to_numpy(std::move(r.L));
  d["S"] = to_numpy(std::move(r.S));
  d["rank"] = r.rank;
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
  ProgressBridge bridge(std::move(progress));
  r.progress = bridge.callback();
  RobustPcaResult<T> res;
  {
    py::gil_scoped_release nogil;
    res = robust_pca(data, r);
  }
  const bool interrupted = bridge.finish(true);
  return rpca_result(std::move(res), interrupted);
}

/// Robust PCA of a fully observed dense matrix.
template <class T>
py::dict rpca_dense(const py::array_t<T, 0>& a, py::dict options, py::object progress) {
  const Matrix<T> d = to_matrix(a, "robust_pca");
  Options o(std::move(options));
  RobustPcaOptions r = rpca_options(o);
  ProgressBridge bridge(std::move(progress));
  r.progress = bridge.callback();
  RobustPcaResult<T> res;
  {
    py::gil_scoped_release nogil;
    res = robust_pca(d, r);
  }
  const bool interrupted = bridge.finish(true);
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

void bind_completion(py::module_& m) {
  bind_model<double>(m, "CompletionModel64");
  bind_model<float>(m, "CompletionModel32");
  bind_completion_typed<double>(m);
  bind_completion_typed<float>(m);
}

}  // namespace lowrank::python
