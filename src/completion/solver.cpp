#include "lowrank/completion/solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace lowrank {

double relative_change(double previous, double current) noexcept {
  if (!std::isfinite(previous)) return std::numeric_limits<double>::infinity();
  const double scale = std::max(std::abs(previous), std::numeric_limits<double>::min());
  return std::abs(current - previous) / scale;
}

IterationMonitor::IterationMonitor(std::string stage, double tolerance, int max_iterations, ProgressCallback progress)
    : m_stage(std::move(stage)),
      m_tolerance(tolerance),
      m_max_iterations(max_iterations),
      m_progress(std::move(progress)),
      m_start(std::chrono::steady_clock::now()) {}

double IterationMonitor::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
}

std::optional<Status> IterationMonitor::step(double objective, int rank, std::optional<double> change) {
  return advance(objective, rank, change, std::nullopt);
}

std::optional<Status> IterationMonitor::step_interruptible(double objective, int rank, bool interrupted) {
  return advance(objective, rank, std::nullopt, interrupted);
}

// `interrupted` absent: this process's Ctrl-C flag, read after the progress
// callback (which may itself request the interruption).
std::optional<Status> IterationMonitor::advance(double objective, int rank, std::optional<double> change,
                                                std::optional<bool> interrupted) {
  const double previous = m_trace.empty() ? std::numeric_limits<double>::infinity() : m_trace.back();
  m_trace.push_back(objective);
  m_last_change = change ? *change : relative_change(previous, objective);
  if (m_progress) {
    ProgressEvent ev;
    ev.stage = m_stage;
    ev.iteration = static_cast<int>(m_trace.size());
    ev.objective = objective;
    ev.change = m_last_change;
    ev.elapsed_s = elapsed_s();
    ev.rank = rank;
    m_progress(ev);
  }
  if (!std::isfinite(objective)) return Status::NumericalIssue;
  if (m_convergence_allowed && m_last_change < m_tolerance) return Status::Success;
  if (interrupted ? *interrupted : interrupt_requested()) return Status::Interrupted;
  if (static_cast<int>(m_trace.size()) >= m_max_iterations) return Status::NotConverging;
  return std::nullopt;
}

template <class T>
Index soft_threshold(Vector<T>& s, T t) {
  Index positive = 0;
  for (Index k = 0; k < s.size(); ++k) {
    s(k) = std::max(s(k) - t, T(0));
    if (s(k) > T(0)) ++positive;
  }
  return positive;
}

void check_iteration_options(std::string_view what, double tolerance, int max_iterations) {
  if (!(tolerance >= 0.0)) {
    throw InvalidArgument(std::string(what) + ": tolerance must be >= 0 (got " + std::to_string(tolerance) + ")");
  }
  if (max_iterations < 1) {
    throw InvalidArgument(std::string(what) + ": max_iterations must be >= 1 (got " + std::to_string(max_iterations) +
                          ")");
  }
}

template Index soft_threshold<float>(Vector<float>&, float);
template Index soft_threshold<double>(Vector<double>&, double);

}  // namespace lowrank
