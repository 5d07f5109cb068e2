// lowrank._core: reading matrix files with the CLI's detection and flags,
// model folders shared with the CLI (`complete --out`, `predict`,
// `recommend`), fold-in of new rows and top-k recommendation. Each function
// is one library call; the keyword names are the CLI's flags.
#include "common.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/io/any.hpp"
#include "lowrank/io/completion_model.hpp"

namespace lowrank::python {

namespace {

std::vector<std::string> names_of(const IdMap& ids, Index n) {
  std::vector<std::string> out;
  if (ids.empty()) return out;
  out.reserve(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) out.push_back(ids.name(static_cast<std::int32_t>(i)));
  return out;
}

IdMap map_of(const std::vector<std::string>& names) {
  IdMap m;
  for (const auto& s : names)
    if (static_cast<std::size_t>(m.get_or_add(s)) + 1 != m.size())
      throw InvalidArgument("repeated id '" + s + "' in the model's labels");
  return m;
}

// read_matrix(path, format=None, header=None, row_names=None, array="", duplicates="error")
py::dict read_matrix(const std::string& path, const std::optional<std::string>& format, std::optional<bool> header,
                     std::optional<bool> row_names, const std::string& array, const std::string& duplicates) {
  io::ReadAnyOptions o;
  if (format) o.format = io::parse_file_format(*format);
  o.header = header;
  o.row_names = row_names;
  o.array_name = array;
  o.triplets.duplicates = parse_duplicate_policy(duplicates);
  o.mm_duplicates = o.triplets.duplicates;
  io::AnyMatrix a;
  {
    py::gil_scoped_release nogil;
    a = io::read_matrix_any(path, o);
  }
  py::dict d;
  d["format"] = io::to_string(a.format);
  d["dtype"] = a.dtype;
  d["notes"] = a.notes;
  d["header"] = a.header;
  d["row_names"] = a.row_names;
  d["array"] = a.array_name;
  if (a.is_sparse()) {
    const auto& e = a.entries();
    d["shape"] = py::make_tuple(e.rows, e.cols);
    d["row"] = to_numpy_vector(e.row);
    d["col"] = to_numpy_vector(e.col);
    d["value"] = to_numpy_vector(e.value);
    d["row_ids"] = names_of(e.row_ids, e.rows);
    d["col_ids"] = names_of(e.col_ids, e.cols);
  } else {
    auto& t = std::get<io::DenseTable>(a.data);
    d["shape"] = py::make_tuple(t.values.rows(), t.values.cols());
    d["row_ids"] = t.row_names;
    d["col_ids"] = t.col_names;
    d["values"] = to_numpy(std::move(t.values));
  }
  return d;
}

py::dict load_model(const std::string& dir) {
  io::SavedCompletionModel s = io::load_completion_model(dir);
  py::dict d;
  d["row_ids"] = names_of(s.row_ids, s.model.rows);
  d["col_ids"] = names_of(s.col_ids, s.model.cols);
  d["metadata"] = s.metadata.dump();
  d["model"] = std::move(s.model);
  return d;
}

void save_model(const std::string& dir, const CompletionModel<double>& model, const std::vector<std::string>& row_ids,
                const std::vector<std::string>& col_ids, const std::string& metadata_json) {
  io::save_completion_model(dir, model, map_of(row_ids), map_of(col_ids), nlohmann::json::parse(metadata_json));
}

template <class T>
CompletionModel<T> with_clip(CompletionModel<T> model, double low, double high) {
  model.clip_low = static_cast<T>(low);
  model.clip_high = static_cast<T>(high);
  return model;
}

// A float32 fit saved in the folder's float64 (a widening copy, no arithmetic).
CompletionModel<double> to_double(const CompletionModel<float>& s) {
  CompletionModel<double> d;
  d.rows = s.rows;
  d.cols = s.cols;
  d.U = s.U.cast<double>();
  d.d = s.d.cast<double>();
  d.V = s.V.cast<double>();
  d.global_offset = s.global_offset;
  d.row_offset = s.row_offset.cast<double>();
  d.col_offset = s.col_offset.cast<double>();
  d.row_scale = s.row_scale.cast<double>();
  d.col_scale = s.col_scale.cast<double>();
  d.clip_low = s.clip_low;
  d.clip_high = s.clip_high;
  return d;
}

template <class T>
py::array fold_in_py(const CompletionModel<T>& model, Index m, Index n, const IndexArray& row, const IndexArray& col,
                     const py::array_t<T, py::array::c_style>& value, double lambda) {
  ObservedEntries<T> e = entries_from_coo<T>(m, n, row, col, value);
  Matrix<T> out;
  {
    py::gil_scoped_release nogil;
    out = fold_in(model, e, lambda);
  }
  return to_numpy(std::move(out));
}

template <class T>
py::tuple recommend_py(const CompletionModel<T>& model, Index row, Index k, const IndexArray& exclude) {
  std::vector<std::int32_t> ex(exclude.data(), exclude.data() + exclude.size());
  const auto recs = recommend(model, row, k, ex);
  std::vector<std::int32_t> cols;
  std::vector<double> scores;
  for (const auto& r : recs) {
    cols.push_back(static_cast<std::int32_t>(r.col));
    scores.push_back(r.score);
  }
  return py::make_tuple(to_numpy_vector(cols), to_numpy_vector(scores));
}

}  // namespace

void bind_inputs(py::module_& m) {
  m.def("read_matrix", &read_matrix, py::arg("path"), py::arg("format") = py::none(), py::arg("header") = py::none(),
        py::arg("row_names") = py::none(), py::arg("array") = "",
        py::arg("duplicates") = to_string(io::TripletReadOptions{}.duplicates));
  m.def(
      "read_defaults",
      [] {
        py::dict d;
        d["duplicates"] = to_string(io::TripletReadOptions{}.duplicates);
        return d;
      },
      "The readers' defaults under read_matrix's keyword names.");
  m.def("load_model", &load_model, py::arg("dir"));
  m.def("save_model", &save_model, py::arg("dir"), py::arg("model"), py::arg("row_ids"), py::arg("col_ids"),
        py::arg("metadata_json"));
  m.def("with_clip", &with_clip<double>, py::arg("model"), py::arg("low"), py::arg("high"));
  m.def("with_clip", &with_clip<float>, py::arg("model"), py::arg("low"), py::arg("high"));
  m.def("model_to_double", &to_double, py::arg("model"));
  m.def("fold_in", &fold_in_py<double>, py::arg("model"), py::arg("rows"), py::arg("cols"), py::arg("row"),
        py::arg("col"), py::arg("value"), py::arg("lam"));
  m.def("fold_in", &fold_in_py<float>, py::arg("model"), py::arg("rows"), py::arg("cols"), py::arg("row"),
        py::arg("col"), py::arg("value"), py::arg("lam"));
  m.def("recommend", &recommend_py<double>, py::arg("model"), py::arg("row"), py::arg("k"), py::arg("exclude"));
  m.def("recommend", &recommend_py<float>, py::arg("model"), py::arg("row"), py::arg("k"), py::arg("exclude"));
}

}  // namespace lowrank::python
