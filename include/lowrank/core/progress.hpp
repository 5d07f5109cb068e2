#pragma once
// Progress reporting and cooperative interruption for long runs.
//
// The library never prints. Long-running functions take an optional
// ProgressCallback and poll interrupt_requested() once per iteration; when it
// is set they stop and return what they have with Status::Interrupted. The CLI
// installs a SIGINT handler that calls request_interrupt(), which is why Ctrl-C
// keeps the work computed so far.
#include <chrono>
#include <functional>
#include <string_view>

namespace lowrank {

struct ProgressEvent {
  std::string_view stage;  ///< e.g. "soft-impute", "lambda-path", "cv fold 2"
  int iteration = 0;
  double objective = 0.0;  ///< current objective value (NaN if not meaningful)
  double change = 0.0;     ///< relative change driving the convergence test
  double elapsed_s = 0.0;
  int rank = -1;  ///< current rank where meaningful, else -1
};

using ProgressCallback = std::function<void(const ProgressEvent&)>;

/// Wall seconds since t0 (steady clock), for ProgressEvent::elapsed_s and
/// result timings.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Async-signal-safe: may be called from a signal handler.
void request_interrupt() noexcept;
void clear_interrupt() noexcept;
bool interrupt_requested() noexcept;

}  // namespace lowrank
