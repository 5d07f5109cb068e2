#pragma once
// Error types shared by the library and its front-ends.
//
// Policy (see docs/errors.md): misuse and bad input throw; numerical outcomes
// such as non-convergence are reported as a Status inside result structs.
// Front-ends map InputError and InvalidArgument to exit code 2 and anything
// else to exit code 1.
#include <cstddef>
#include <stdexcept>
#include <string>

namespace lowrank {

/// A value passed by the caller is out of its documented range
/// (rank <= 0, lambda < 0, holdout fraction outside (0, 1), ...).
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Malformed or inconsistent input data. Carries the source (file name or
/// "<memory>") and a 1-based line number, or a byte offset for binary
/// formats, so the message can point at the exact place.
class InputError : public std::runtime_error {
 public:
  enum class Where { None, Line, Byte };
  InputError(std::string source, std::string message);
  InputError(std::string source, std::size_t line, std::string message);
  static InputError at_byte(std::string source, std::size_t offset, std::string message);

  const std::string& source() const noexcept { return m_source; }
  std::size_t position() const noexcept { return m_position; }
  Where where() const noexcept { return m_where; }
  /// The message without the "source:line: " prefix.
  const std::string& detail() const noexcept { return m_detail; }

 private:
  InputError(std::string source, std::size_t pos, Where where, std::string message);
  std::string m_source;
  std::size_t m_position = 0;
  Where m_where = Where::None;
  std::string m_detail;
};

/// Outcome of an iterative numerical method; never thrown.
enum class Status {
  Success,         ///< converged to the requested tolerance
  NotConverging,   ///< hit the iteration cap; the result is the last iterate
  NumericalIssue,  ///< NaN/Inf or breakdown; the result is the last finite iterate
  Interrupted,     ///< stopped by interrupt_requested(); the result is the last iterate
};

const char* to_string(Status s) noexcept;

}  // namespace lowrank
