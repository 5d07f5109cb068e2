// JsonObject (json_object.hpp) on nlohmann::json.
#include "lowrank/io/json_object.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "lowrank/core/error.hpp"

namespace lowrank::io {

struct JsonObject::Impl {
  nlohmann::json j = nlohmann::json::object();
};

JsonObject::JsonObject() : m_impl(std::make_unique<Impl>()) {}
JsonObject::~JsonObject() = default;
JsonObject::JsonObject(const JsonObject& o)
    : m_impl(std::make_unique<Impl>(*o.m_impl)), m_source(o.m_source), m_path(o.m_path) {}
JsonObject& JsonObject::operator=(const JsonObject& o) {
  if (this != &o) {
    m_impl = std::make_unique<Impl>(*o.m_impl);
    m_source = o.m_source;
    m_path = o.m_path;
  }
  return *this;
}
JsonObject::JsonObject(JsonObject&&) noexcept = default;
JsonObject& JsonObject::operator=(JsonObject&&) noexcept = default;

JsonObject JsonObject::parse(const std::string& text, const std::string& source) {
  JsonObject out;
  out.m_source = source;
  try {
    out.m_impl->j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError::at_byte(source, e.byte, std::string("invalid JSON: ") + e.what());
  } catch (const nlohmann::json::exception& e) {  // out_of_range: a number beyond double, e.g. 1e999
    throw InputError(source, std::string("invalid JSON: ") + e.what());
  }
  if (!out.m_impl->j.is_object()) throw InputError(source, "expected a JSON object");
  return out;
}

bool JsonObject::has(const std::string& key) const { return m_impl->j.contains(key); }

std::vector<std::string> JsonObject::keys() const {
  std::vector<std::string> out;
  for (auto it = m_impl->j.begin(); it != m_impl->j.end(); ++it) out.push_back(it.key());
  return out;
}

JsonObject JsonObject::object(const std::string& key) const {
  if (!has(key) || !m_impl->j.at(key).is_object())
    throw InputError(m_source, "\"" + m_path + key + "\" must be an object");
  JsonObject out;
  out.m_impl->j = m_impl->j.at(key);
  out.m_source = m_source;
  out.m_path = m_path + key + ".";
  return out;
}

void JsonObject::reject_unknown(std::initializer_list<const char*> allowed) const {
  for (auto it = m_impl->j.begin(); it != m_impl->j.end(); ++it) {
    bool ok = false;
    for (const char* k : allowed) ok = ok || it.key() == k;
    if (!ok) throw InputError(m_source, "unknown key \"" + m_path + it.key() + "\"");
  }
}

template <class V>
void JsonObject::read(const std::string& key, V& out) const {
  if (!has(key)) return;
  const nlohmann::json& v = m_impl->j.at(key);
  if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
    // nlohmann casts a float or an out-of-range integer to V unchecked (1e300
    // or -1.5 into an integer is undefined behaviour): only integral values V holds pass.
    bool fits = true;
    if (v.is_number_unsigned()) {
      fits = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<V>::max());
    } else if (v.is_number_integer()) {
      const std::int64_t i = v.get<std::int64_t>();
      if constexpr (std::is_signed_v<V>)
        fits = i >= std::numeric_limits<V>::min() && i <= std::numeric_limits<V>::max();
      else fits = i >= 0;
    } else if (v.is_number_float()) {
      const double d = v.get<double>();
      fits = d == std::floor(d) && d >= static_cast<double>(std::numeric_limits<V>::min()) &&
             d < std::ldexp(1.0, std::numeric_limits<V>::digits);
    }
    if (!fits) throw InputError(m_source, "\"" + m_path + key + "\" = " + v.dump() + " is not an integer in range");
  }
  try {
    out = v.get<V>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(m_source, "\"" + m_path + key + "\" has the wrong type (" + v.dump() + ")");
  }
}

template <class V>
void JsonObject::set(const std::string& key, const V& value) {
  m_impl->j[key] = value;
}

void JsonObject::set_object(const std::string& key, const JsonObject& child) { m_impl->j[key] = child.m_impl->j; }

std::string JsonObject::dump_value(const std::string& key) const { return has(key) ? m_impl->j.at(key).dump() : ""; }

std::string JsonObject::dump(int indent) const { return m_impl->j.dump(indent); }

#define LOWRANK_JSON_OBJECT(V)                                     \
  template void JsonObject::read<V>(const std::string&, V&) const; \
  template void JsonObject::set<V>(const std::string&, const V&);
LOWRANK_JSON_OBJECT(long)
LOWRANK_JSON_OBJECT(unsigned long)
LOWRANK_JSON_OBJECT(int)
LOWRANK_JSON_OBJECT(double)
LOWRANK_JSON_OBJECT(bool)
LOWRANK_JSON_OBJECT(std::string)
#undef LOWRANK_JSON_OBJECT

}  // namespace lowrank::io
