#pragma once
// Pieces shared by the iterative completion solvers (soft-impute, ALS, robust
// PCA, and GAME, whose SolverLoop in src/game/detail.hpp wraps IterationMonitor).
//
//   IterationMonitor  the loop's bookkeeping: objective trace, relative-change
//                     convergence test, iteration cap, progress events,
//                     Ctrl-C (interrupt_requested()) and NaN detection, all
//                     mapped to a Status.
//   soft_threshold    (x - t)_+ on singular values: the prox of t ||.||_*
//                     acting on a diagonal; singular_value_threshold() in
//                     prox.hpp applies it to any LinearOperator.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank {

/// Relative change |f_k - f_{k-1}| / max(|f_{k-1}|, tiny) used by every
/// solver's convergence test; +inf for the first iterate.
double relative_change(double previous, double current) noexcept;

/// Bookkeeping of one iterative solve. Typical use:
///
///   IterationMonitor monitor("soft-impute", opts.tolerance, opts.max_iterations, opts.progress);
///   while (true) {
///     ... one iteration ...
///     if (auto stop = monitor.step(objective, rank)) { status = *stop; break; }
///   }
///
/// step() records the objective, emits a ProgressEvent, and returns the
/// Status to stop with, checked in this order: NumericalIssue (objective not
/// finite), Success (change < tolerance, only while
/// convergence_allowed), Interrupted (interrupt_requested()), NotConverging
/// (iteration cap reached); std::nullopt means "go on".
class IterationMonitor {
 public:
  IterationMonitor(std::string stage, double tolerance, int max_iterations, ProgressCallback progress);

  /// `change`, when given, replaces the relative objective change in the
  /// convergence test and the progress event (e.g. RPCA's primal residual).
  std::optional<Status> step(double objective, int rank = -1, std::optional<double> change = std::nullopt);
  /// As step(), with the interruption decided by the caller (e.g. a flag the
  /// MPI ranks agreed on) instead of this process's Ctrl-C.
  std::optional<Status> step_interruptible(double objective, int rank, bool interrupted);
  /// A resumed run continues the trace it was checkpointed with.
  void resume(std::vector<double> trace) { m_trace = std::move(trace); }
  /// While false, step() never reports Success (e.g. robust ALS while its
  /// clipping threshold is still being estimated).
  void set_convergence_allowed(bool allowed) { m_convergence_allowed = allowed; }

  const std::vector<double>& trace() const { return m_trace; }
  std::vector<double> take_trace() { return std::move(m_trace); }
  int iterations() const { return static_cast<int>(m_trace.size()); }
  double last_change() const { return m_last_change; }
  double elapsed_s() const;

 private:
  std::optional<Status> advance(double objective, int rank, std::optional<double> change,
                                std::optional<bool> interrupted);

  std::string m_stage;
  double m_tolerance;
  int m_max_iterations;
  ProgressCallback m_progress;
  bool m_convergence_allowed = true;
  std::vector<double> m_trace;
  double m_last_change = 0.0;
  std::chrono::steady_clock::time_point m_start;
};

/// In place: s_k <- max(s_k - t, 0). Returns the number of positive entries
/// left (s sorted decreasing stays sorted, so they are the first ones).
template <class T>
Index soft_threshold(Vector<T>& s, T t);

/// Throws InvalidArgument naming `what` unless tolerance >= 0 and
/// max_iterations >= 1 (shared check of every solver's options).
void check_iteration_options(std::string_view what, double tolerance, int max_iterations);

}  // namespace lowrank
