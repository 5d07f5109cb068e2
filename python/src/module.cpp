// lowrank._core: the compiled half of the Python package `lowrank`.
//
// Error mapping (docs/python.md): lowrank::InvalidArgument (a std::invalid_argument)
// becomes ValueError through pybind11's built-in translation; lowrank::InputError
// (bad data, with file and line) becomes ValueError too, with the same message.
// Anything else from the library surfaces as RuntimeError.
#include "common.hpp"
#include "lowrank/core/version.hpp"

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  using namespace lowrank::python;
  m.doc() = "lowrank C++ library bindings (use the `lowrank` package, not this module directly)";
  m.attr("__version__") = lowrank::kVersion;  // the library's; lowrank.__version__ must equal it
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const lowrank::InputError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.def("request_interrupt", &lowrank::request_interrupt, "Set the library's interrupt flag (as Ctrl-C does)");
  m.def("clear_interrupt", &lowrank::clear_interrupt);
  bind_linalg(m);
  bind_completion(m);
  bind_game(m);
  bind_rl(m);
  bind_diagnostics(m);
  bind_inputs(m);
}
