#include "lowrank/io/json.hpp"

#include <cmath>

#include "detail.hpp"
#include "lowrank/core/error.hpp"

namespace lowrank::io {

namespace {

// nlohmann::json already writes NaN/Inf as null; this keeps that explicit
// and independent of the library version.
nlohmann::json finite_or_null(const nlohmann::json& v) {
  if (v.is_number_float() && !std::isfinite(v.get<double>())) return nullptr;
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, x] : v.items()) out[k] = finite_or_null(x);
    return out;
  }
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& x : v) out.push_back(finite_or_null(x));
    return out;
  }
  return v;
}

}  // namespace

void write_json(const std::string& path, const nlohmann::json& value, int indent) {
  const std::string text =
      finite_or_null(value).dump(indent < 0 ? -1 : indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  detail::AtomicFile file(path);
  file.write(text);
  file.commit();
}

nlohmann::json read_json(const std::string& path) {
  const std::string bytes = detail::read_file(path);
  const std::string_view text = detail::strip_bom(bytes);
  const std::size_t skipped = bytes.size() - text.size();
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& ex) {
    throw InputError::at_byte(path, skipped + (ex.byte > 0 ? ex.byte - 1 : 0),
                              std::string("malformed JSON: ") + ex.what());
  } catch (const nlohmann::json::exception& ex) {  // out_of_range: a number beyond double
    throw InputError(path, std::string("malformed JSON: ") + ex.what());
  }
}

}  // namespace lowrank::io
