#include "lowrank/core/error.hpp"

#include <string>

namespace lowrank {

namespace {
std::string prefix(const std::string& source, std::size_t pos, InputError::Where where) {
  switch (where) {
    case InputError::Where::Line:
      return source + ":" + std::to_string(pos) + ": ";
    case InputError::Where::Byte:
      return source + ": byte " + std::to_string(pos) + ": ";
    case InputError::Where::None:
      break;
  }
  return source + ": ";
}
}  // namespace

InputError::InputError(std::string source, std::size_t pos, Where where, std::string message)
    : std::runtime_error(prefix(source, pos, where) + message),
      m_source(std::move(source)),
      m_position(pos),
      m_where(where),
      m_detail(std::move(message)) {}

InputError::InputError(std::string source, std::string message)
    : InputError(std::move(source), 0, Where::None, std::move(message)) {}

InputError::InputError(std::string source, std::size_t line, std::string message)
    : InputError(std::move(source), line, Where::Line, std::move(message)) {}

InputError InputError::at_byte(std::string source, std::size_t offset, std::string message) {
  return InputError(std::move(source), offset, Where::Byte, std::move(message));
}

const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::Success:
      return "success";
    case Status::NotConverging:
      return "not-converging";
    case Status::NumericalIssue:
      return "numerical-issue";
    case Status::Interrupted:
      return "interrupted";
  }
  return "unknown";
}

}  // namespace lowrank
