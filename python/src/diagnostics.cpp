// Network diagnostics for Python: lowrank.inspect(path) runs the library's
// inspect_weights() and hands back its JSON report (the same document as
// `lowrank inspect --json`), which the Python layer turns into a DataFrame.
// Going through the JSON keeps one definition of every field name.
#include "common.hpp"
#include "lowrank/diagnostics/inspect.hpp"
#include "report_json.hpp"

namespace lowrank::python {

namespace {

std::string inspect_json(const std::string& path, const std::string& filter, const std::string& reference,
                         bool reshape_conv, bool with_values, double input_norm, double margin, double samples,
                         int threads, py::object progress) {
  diagnostics::InspectOptions opts;
  opts.selection.filter = filter;
  opts.selection.reshape_conv = reshape_conv;
  opts.reference = reference;
  opts.bound.input_norm = input_norm;
  opts.bound.margin = margin;
  opts.bound.samples = samples;
  opts.threads = threads;
  ProgressBridge bridge(std::move(progress));
  diagnostics::InspectReport report;
  {
    py::gil_scoped_release nogil;
    report = diagnostics::inspect_weights(path, opts, bridge.callback());
  }
  bridge.finish(false);
  return frontend::to_json(report, with_values).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void bind_diagnostics(py::module_& m) {
  m.def("inspect_json", &inspect_json, py::arg("path"), py::arg("filter") = "", py::arg("reference") = "",
        py::arg("reshape_conv") = false, py::arg("with_values") = false, py::arg("input_norm") = 0.0,
        py::arg("margin") = 0.0, py::arg("samples") = 0.0, py::arg("threads") = 0, py::arg("progress") = py::none());
}

}  // namespace lowrank::python
