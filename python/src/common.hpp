#pragma once
// Shared pieces of the Python bindings (lowrank._core): array <-> Eigen views,
// observed entries from COO arrays, option dictionaries, and the GIL /
// Ctrl-C / progress bridge. No numerics here: every computation is a call
// into the C++ library.
//
// Conventions of the module:
//   - dense inputs arrive as float32 or float64 numpy arrays of any layout
//     (the Python layer converts other real dtypes and rejects the rest); they
//     are viewed in place through an Eigen::Map with the array's own strides,
//     so C order, Fortran order and sliced views all work without a copy
//     where the library takes an operator, and with exactly one copy where
//     the library's signature takes a Matrix<T>;
//   - dense results (Matrix<T>, Vector<T>) are moved into numpy arrays that
//     own them (no copy);
//   - long computations release the GIL; ProgressBridge re-acquires it once
//     per iteration to poll PyErr_CheckSignals() (Ctrl-C) and to call the
//     optional Python progress callback.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "lowrank/core/error.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank {
struct CrossValidationRow;
template <class T>
struct CompletionFit;
}  // namespace lowrank

namespace lowrank::python {

namespace py = pybind11;

/// Strided read-only view of a 2-D numpy array (strides in elements).
template <class T>
using StridedMap = Eigen::Map<const Matrix<T>, Eigen::Unaligned, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;

/// Views a 2-D array in place. Throws ValueError for another number of
/// dimensions; strides that are negative or not a multiple of the item size
/// are refused (the Python layer copies such arrays first).
template <class T>
StridedMap<T> view2d(const py::array_t<T, 0>& a, const char* what) {
  if (a.ndim() != 2)
    throw InvalidArgument(std::string(what) + ": expected a 2-D array, got " + std::to_string(a.ndim()) +
                          " dimension(s)");
  const auto item = static_cast<py::ssize_t>(sizeof(T));
  const py::ssize_t s0 = a.strides(0), s1 = a.strides(1);
  if (s0 < 0 || s1 < 0 || s0 % item != 0 || s1 % item != 0)
    throw InvalidArgument(std::string(what) + ": negative or unaligned strides (pass np.ascontiguousarray(a))");
  // Eigen: outer stride = between columns, inner = between rows (column-major view).
  return StridedMap<T>(a.data(), a.shape(0), a.shape(1),
                       Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(s1 / item, s0 / item));
}

/// One copy into the column-major Matrix<T> the library's signatures take.
template <class T>
Matrix<T> to_matrix(const py::array_t<T, 0>& a, const char* what) {
  return Matrix<T>(view2d(a, what));
}

template <class T>
Vector<T> to_vector(const py::array_t<T, 0>& a, const char* what) {
  if (a.ndim() != 1)
    throw InvalidArgument(std::string(what) + ": expected a 1-D array, got " + std::to_string(a.ndim()) +
                          " dimension(s)");
  Vector<T> v(a.shape(0));
  auto r = a.template unchecked<1>();
  for (py::ssize_t i = 0; i < a.shape(0); ++i) v(i) = r(i);
  return v;
}

using IndexArray = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

/// Observed entries of an m x n matrix from COO arrays (row, col, value),
/// in the given order. Range, finiteness and duplicates are checked by the
/// library's own validate() / solvers, so messages match the CLI's.
template <class T>
ObservedEntries<T> entries_from_coo(Index m, Index n, const IndexArray& row, const IndexArray& col,
                                    const py::array_t<T, py::array::c_style>& value) {
  if (m < 0 || n < 0) throw InvalidArgument("shape must be non-negative");
  if (row.ndim() != 1 || col.ndim() != 1 || value.ndim() != 1 || row.shape(0) != col.shape(0) ||
      row.shape(0) != value.shape(0))
    throw InvalidArgument("row, col and value must be 1-D arrays of one length, got " + std::to_string(row.size()) +
                          ", " + std::to_string(col.size()) + ", " + std::to_string(value.size()));
  ObservedEntries<T> e;
  e.rows = m;
  e.cols = n;
  const auto k = static_cast<std::size_t>(row.shape(0));
  e.row.assign(row.data(), row.data() + k);
  e.col.assign(col.data(), col.data() + k);
  e.value.assign(value.data(), value.data() + k);
  validate(e, "observed entries");
  return e;
}

/// Typed access to a dict of options; every key must be consumed (finish()
/// reports unknown ones, which catches typos in the Python layer).
class Options {
 public:
  explicit Options(py::dict d) : m_d(std::move(d)) {}
  template <class V>
  V get(const char* key, V fallback) {
    m_used.insert(key);
    m_defaults[key] = fallback;
    if (!m_d.contains(key) || m_d[key].is_none()) return fallback;
    return m_d[key].cast<V>();
  }
  template <class V>
  std::optional<V> optional(const char* key) {
    m_used.insert(key);
    if (!m_d.contains(key) || m_d[key].is_none()) return std::nullopt;
    return m_d[key].cast<V>();
  }
  bool has(const char* key) const { return m_d.contains(key) && !m_d[key].is_none(); }
  /// The fallback of every get() so far: a reader of an options struct run on
  /// an empty dict gives the library's defaults under the Python names, which
  /// the Python wrappers use as theirs (see defaults_of).
  const py::dict& defaults() const { return m_defaults; }
  void finish(const char* what) const {
    for (auto item : m_d) {
      const auto k = item.first.cast<std::string>();
      if (!m_used.count(k)) throw InvalidArgument(std::string(what) + ": unknown option '" + k + "'");
    }
  }

 private:
  py::dict m_d;
  py::dict m_defaults;
  std::set<std::string> m_used;
};

/// The defaults a reader `R(Options&)` of an options struct falls back to,
/// as a dict keyed by the Python option names.
template <class R>
py::dict defaults_of(R&& reader) {
  Options o{py::dict()};
  reader(o);
  return o.defaults();
}

/// Bridges the library's ProgressCallback to Python. Construct with the GIL
/// held; callback() may then run on any thread while the GIL is released.
/// Each event re-acquires the GIL, runs pending signal handlers
/// (PyErr_CheckSignals: Ctrl-C raises KeyboardInterrupt there) and calls the
/// user's callable with a dict. Either failure sets the library's interrupt
/// flag, so the solver stops at the end of its iteration and returns its last
/// iterate with Status::Interrupted; finish() then re-raises the Python error
/// (or, with keep_keyboard_interrupt, swallows a KeyboardInterrupt and
/// returns true so the caller can hand back the partial result).
class ProgressBridge {
 public:
  explicit ProgressBridge(py::object callback) : m_state(std::make_shared<State>()) {
    m_state->callback = std::move(callback);
    clear_interrupt();
  }
  ~ProgressBridge() { clear_interrupt(); }

  ProgressCallback callback() const {
    auto state = m_state;
    return [state](const ProgressEvent& e) {
      py::gil_scoped_acquire gil;
      if (state->error) return;
      if (PyErr_CheckSignals() != 0) {
        state->error = std::make_unique<py::error_already_set>();
        request_interrupt();
        return;
      }
      if (state->callback.is_none()) return;
      try {
        py::dict d;
        d["stage"] = std::string(e.stage);
        d["iteration"] = e.iteration;
        d["objective"] = e.objective;
        d["change"] = e.change;
        d["elapsed_s"] = e.elapsed_s;
        d["rank"] = e.rank;
        state->callback(d);
      } catch (py::error_already_set& err) {
        state->error = std::make_unique<py::error_already_set>(std::move(err));
        request_interrupt();
      }
    };
  }

  /// Call with the GIL held, after the computation. Returns true when the run
  /// was stopped by Ctrl-C and keep_keyboard_interrupt is set.
  bool finish(bool keep_keyboard_interrupt) {
    if (!m_state->error) return false;
    std::unique_ptr<py::error_already_set> err = std::move(m_state->error);
    if (keep_keyboard_interrupt && err->matches(PyExc_KeyboardInterrupt)) return true;
    throw std::move(*err);
  }

 private:
  struct State {
    py::object callback = py::none();
    std::unique_ptr<py::error_already_set> error;
  };
  std::shared_ptr<State> m_state;
};

/// Runs `run()` with the GIL released while the library's progress events
/// (each callback slot given is set to the bridge's) reach the Python
/// callable `progress`; Ctrl-C stops the run, which returns what it has.
/// Returns the result and whether Ctrl-C stopped it; another Python error
/// from the callable is raised again here.
template <class F, class... Slots>
auto run_with_progress(py::object progress, F&& run, Slots&... slots) {
  ProgressBridge bridge(std::move(progress));
  ((slots = bridge.callback()), ...);
  decltype(run()) result;
  {
    py::gil_scoped_release nogil;
    result = run();
  }
  const bool interrupted = bridge.finish(true);
  return std::make_pair(std::move(result), interrupted);
}

/// Moves an Eigen object into a numpy array that owns it (pybind11's Eigen
/// caster encapsulates the moved object: no copy of the data).
template <class M>
py::array to_numpy(M&& m) {
  static_assert(!std::is_lvalue_reference_v<M>, "pass an rvalue: the array takes ownership");
  return py::cast(std::move(m)).template cast<py::array>();
}

template <class T>
py::array to_numpy_vector(const std::vector<T>& v) {
  py::array_t<T> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

/// One field of a table of rows (a vector of structs) as a numpy column:
/// column(points, &PathPoint::lambda). The tables the bindings return are
/// dicts of such columns.
template <class Row, class F>
py::array column(const std::vector<Row>& rows, F Row::*field) {
  std::vector<F> v;
  v.reserve(rows.size());
  for (const Row& r : rows) v.push_back(r.*field);
  return to_numpy_vector(v);
}

/// A cross-validation table (completion and GAME alike) as a dict of numpy
/// columns plus the chosen row's index.
py::dict cv_table(const std::vector<CrossValidationRow>& rows, std::size_t best_index);

/// The result dict of every completion method (lowrank::fit's CompletionFit):
/// status, stop reason, centring, lambdas, timing, CV table, path, model.
template <class T>
py::dict fit_dict(CompletionFit<T>&& fit, bool interrupted);

/// Entry points of the submodules (one translation unit each).
void bind_linalg(py::module_& m);
void bind_completion(py::module_& m);
void bind_game(py::module_& m);
void bind_rl(py::module_& m);
void bind_diagnostics(py::module_& m);
void bind_inputs(py::module_& m);

}  // namespace lowrank::python
