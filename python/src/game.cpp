// lowrank._core: GAME (group-aware matrix estimation) through the same one
// entry as `lowrank complete --method game` (lowrank::fit) and the same
// result dict as every other method (fit_dict), and row groups
// from an attribute table (the CLI's io::make_row_groups, fed from a pandas
// DataFrame by the Python layer instead of a file).
#include <map>

#include "common.hpp"
#include "lowrank/fit.hpp"
#include "lowrank/game/game.hpp"
#include "lowrank/game/path.hpp"
#include "lowrank/io/attributes.hpp"

namespace lowrank::python {

namespace {

/// groups: (names, rows per group, warnings, unmatched attribute rows).
py::tuple row_groups_from_table(const std::vector<std::string>& ids, const std::vector<std::string>& columns,
                                const std::vector<std::vector<std::string>>& cells, const std::vector<bool>& numeric,
                                const std::vector<std::string>& row_ids, const std::vector<std::string>& group_cols,
                                const std::map<std::string, std::vector<double>>& bins) {
  io::AttributeTable t;
  t.source = "<DataFrame>";
  t.id_name = "index";
  t.ids = ids;
  for (std::size_t i = 0; i < ids.size(); ++i) t.lines.push_back(i + 2);  // header is line 1
  t.columns = columns;
  t.cells = cells;
  t.numeric = numeric;
  if (cells.size() != columns.size() || numeric.size() != columns.size())
    throw InvalidArgument("attribute table: columns, cells and numeric flags differ in length");
  for (const auto& c : cells)
    if (c.size() != ids.size()) throw InvalidArgument("attribute table: a column's length differs from the index's");
  IdMap map;
  for (const auto& id : row_ids) map.get_or_add(id);
  io::RowGroupResult r = io::make_row_groups(t, map, group_cols, bins);
  py::list rows;
  for (const auto& g : r.groups.rows) rows.append(to_numpy_vector(g));
  return py::make_tuple(r.groups.names, rows, r.warnings, r.unmatched_attribute_rows);
}

RowGroups make_groups(const std::vector<std::string>& names, const std::vector<std::vector<std::int32_t>>& rows) {
  if (names.size() != rows.size())
    throw InvalidArgument("groups: " + std::to_string(names.size()) + " names for " + std::to_string(rows.size()) +
                          " row lists");
  RowGroups g;
  g.names = names;
  g.rows = rows;
  return g;
}

GamePathOptions game_options(Options& o) {
  GamePathOptions po;
  // `centering` (auto | none | biases | center) wins over the older bool
  // `center` (true = center, false = none); neither given: auto.
  const auto center = o.optional<bool>("center");
  const std::string centering =
      o.get<std::string>("centering", center ? (*center ? "center" : "none") : to_string(po.centering));
  po.centering = parse_centering(centering);
  po.lambda = o.optional<double>("lam");
  po.lambdas = o.get<int>("n_lambdas", po.lambdas);
  po.min_ratio = o.get<double>("min_ratio", po.min_ratio);
  po.folds = o.get<int>("cv", po.folds);
  if (po.lambda) po.folds = 0;
  po.seed = o.get<std::uint64_t>("seed", po.seed);
  po.patience = o.get<int>("patience", po.patience);
  po.lambda_scaling = parse_cv_lambda_scaling(
      o.get<std::string>("cv_scaling", po.lambda_scaling == CvLambdaScaling::SqrtEntries ? "sqrt" : "none"));
  po.cv_tolerance = o.get<double>("cv_tol", po.cv_tolerance);
  po.cv_sweeps_per_iteration = o.get<int>("cv_sweeps", po.cv_sweeps_per_iteration);
  {
    const auto precision = o.get<std::string>("cv_precision", po.cv_float ? "float" : "double");
    if (precision != "float" && precision != "double")
      throw InvalidArgument("GAME: cv_precision must be 'float' or 'double', got '" + precision + "'");
    po.cv_float = precision == "float";
  }
  GameOptions& g = po.game;
  g.variant = parse_game_variant(o.get<std::string>("variant", to_string(g.variant)));
  g.solver = parse_game_solver(o.get<std::string>("solver", to_string(g.solver)));
  g.storage = parse_game_storage(o.get<std::string>("storage", to_string(g.storage)));
  g.weight_scheme = parse_game_weight_scheme(o.get<std::string>("weights", to_string(g.weight_scheme)));
  po.weight_search = parse_game_weight_search(o.get<std::string>("weight_cv", to_string(po.weight_search)));
  po.weight_multipliers = o.get<std::vector<double>>("weight_multipliers", po.weight_multipliers);
  g.include_global_group = o.get<bool>("global_group", g.include_global_group);
  g.seed = po.seed;
  g.tolerance = o.get<double>("tol", g.tolerance);  // GamePathOptions' defaults, as the CLI's
  g.max_iterations = o.get<int>("max_iter", g.max_iterations);
  g.max_rank = o.get<Index>("max_rank", g.max_rank);
  g.allow_unobserved_groups = o.get<bool>("allow_unobserved_groups", g.allow_unobserved_groups);
  o.finish("GAME");
  return po;
}

template <class T>
py::dict game(Index rows, Index cols, const IndexArray& row, const IndexArray& col,
              const py::array_t<T, py::array::c_style>& value, const std::vector<std::string>& group_names,
              const std::vector<std::vector<std::int32_t>>& group_rows, py::dict options, py::object progress) {
  const ObservedEntries<T> data = entries_from_coo<T>(rows, cols, row, col, value);
  const RowGroups groups = make_groups(group_names, group_rows);
  Options o(std::move(options));
  GamePathOptions po = game_options(o);
  ProgressBridge bridge(std::move(progress));
  po.progress = bridge.callback();
  po.game.progress = po.progress;
  // The one entry of every method (lowrank/fit.hpp) and its one result
  // shape (fit_dict), plus GAME's report.
  FitOptions fo;
  fo.completion.method = CompletionMethod::Game;
  fo.game = po;
  fo.groups = groups;
  CompletionFit<T> fit;
  Matrix<T> completed;
  {
    py::gil_scoped_release nogil;
    fit = lowrank::fit(data, fo);
    if (fit.game->fitted) completed = fit.model.to_dense();
  }
  const bool interrupted = bridge.finish(true);
  const GameReport<T>& r = *fit.game;
  if (interrupted && !r.fitted) {
    // Ctrl-C before the first fit's first iteration: there is nothing to
    // keep, so the estimator stays unfitted.
    const std::string what = "GAME.fit " + fit.stop_reason + "; nothing kept";
    PyErr_SetString(PyExc_KeyboardInterrupt, what.c_str());
    throw py::error_already_set();
  }
  py::list gl;
  for (std::size_t k = 0; k < r.groups.size(); ++k) {
    const typename GameReport<T>::Group& g = r.groups[k];
    const LowRankGroupPart<T>& f = game_group_factors(fit, k);
    py::dict d;
    d["name"] = g.name;
    d["size"] = g.size;
    d["observed"] = g.observed;
    d["weight"] = g.weight;
    d["rank"] = g.rank;
    d["effective_rank"] = g.effective_rank;
    d["rank_capped"] = g.rank_capped;
    d["U"] = f.U;
    d["S"] = f.d;
    d["V"] = f.V;
    gl.append(d);
  }
  py::object row_center = py::none(), col_center = py::none();
  if (fit.model.row_offset.size() > 0) {
    // the offsets as row_center(i) + col_center(j) (mu folded into the rows)
    Vector<T> rows = fit.model.row_offset;
    rows.array() += fit.model.global_offset;
    row_center = py::cast(rows);
    col_center = py::cast(Vector<T>(fit.model.col_offset));
  }
  const double kkt_max = r.kkt.computed ? r.kkt.max : std::numeric_limits<double>::quiet_NaN();
  const double objective = r.objective;
  const std::vector<double> grid = r.grid;
  const int fits = r.fits, discarded = r.discarded_fits;
  const std::string storage = r.storage;
  const double cv_seconds = fit.cv_seconds;
  const std::string weighting = r.weighting;
  const std::vector<GameWeightScore> weight_scores = r.weight_scores;
  py::dict d = fit_dict(std::move(fit), interrupted);
  d["completed"] = to_numpy(std::move(completed));
  d["groups"] = gl;
  d["objective"] = objective;
  d["kkt_max"] = kkt_max;
  d["grid"] = to_numpy_vector(grid);
  d["fits"] = fits;
  d["discarded_fits"] = discarded;
  d["cv_seconds"] = cv_seconds;
  d["storage"] = storage;
  if (!row_center.is_none()) {
    d["row_center"] = row_center;
    d["col_center"] = col_center;
  }
  d["weighting"] = weighting;
  py::list ws;
  for (const auto& w : weight_scores) ws.append(py::make_tuple(w.candidate, w.weights, w.cv_rmse, w.lambda));
  d["weight_scores"] = ws;
  return d;
}

/// GamePathOptions' defaults under the Python keyword names (GAME's
/// __init__ reads them, so Python holds no defaults of its own).
py::dict game_defaults() {
  const GamePathOptions po;
  const GameOptions& g = po.game;
  py::dict d;
  d["cv"] = po.folds;
  d["n_lambdas"] = po.lambdas;
  d["min_ratio"] = po.min_ratio;
  d["variant"] = std::string(to_string(g.variant));
  d["solver"] = std::string(to_string(g.solver));
  d["storage"] = std::string(to_string(g.storage));
  d["weights"] = std::string(to_string(g.weight_scheme));
  d["weight_cv"] = std::string(to_string(po.weight_search));
  d["weight_multipliers"] = po.weight_multipliers;
  d["global_group"] = g.include_global_group;
  d["center"] = std::string(to_string(po.centering));
  d["max_rank"] = g.max_rank;
  d["tol"] = g.tolerance;
  d["max_iter"] = g.max_iterations;
  d["cv_scaling"] = po.lambda_scaling == CvLambdaScaling::SqrtEntries ? "sqrt" : "none";
  d["cv_tol"] = po.cv_tolerance;
  d["cv_sweeps"] = po.cv_sweeps_per_iteration;
  d["cv_precision"] = po.cv_float ? "float" : "double";
  d["patience"] = po.patience;
  d["seed"] = po.seed;
  return d;
}

template <class T>
py::array group_angles(const py::array_t<T, 0>& v, const py::array_t<T, 0>& s, const py::array_t<T, 0>& reference) {
  GameGroupFit<T> g;
  g.V = to_matrix(v, "group_subspace_angles (V)");
  g.d = to_vector(s, "group_subspace_angles (S)");
  return to_numpy(group_subspace_angles<T>(g, to_matrix(reference, "group_subspace_angles (reference)")));
}

}  // namespace

void bind_game(py::module_& m) {
  m.def("row_groups_from_table", &row_groups_from_table, py::arg("ids"), py::arg("columns"), py::arg("cells"),
        py::arg("numeric"), py::arg("row_ids"), py::arg("group_cols"), py::arg("bins"));
  m.def("game", &game<double>, py::arg("rows"), py::arg("cols"), py::arg("row"), py::arg("col"), py::arg("value"),
        py::arg("group_names"), py::arg("group_rows"), py::arg("options"), py::arg("progress") = py::none());
  m.def("game", &game<float>, py::arg("rows"), py::arg("cols"), py::arg("row"), py::arg("col"), py::arg("value"),
        py::arg("group_names"), py::arg("group_rows"), py::arg("options"), py::arg("progress") = py::none());
  m.def("game_defaults", &game_defaults, "GamePathOptions' defaults under GAME's keyword names.");
  m.def("group_subspace_angles", &group_angles<double>, py::arg("V"), py::arg("S"), py::arg("reference"));
}

}  // namespace lowrank::python
