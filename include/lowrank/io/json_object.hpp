#pragma once
// A JSON object read and written key by key, for code below io that owns a
// configuration format (nn's training options, its checkpoint metadata) but
// must not include a JSON library itself: the caller states its keys and
// their C++ types; parsing, type and range checks and error messages naming
// the source and the key ("model.width") happen here.
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace lowrank::io {

class JsonObject {
 public:
  /// An empty object (for writing).
  JsonObject();
  ~JsonObject();
  JsonObject(const JsonObject& other);
  JsonObject& operator=(const JsonObject& other);
  JsonObject(JsonObject&&) noexcept;
  JsonObject& operator=(JsonObject&&) noexcept;

  /// Parses `text`. Throws InputError naming `source` at the byte of a syntax
  /// error, for a number beyond double, or when the top level is not an object.
  static JsonObject parse(const std::string& text, const std::string& source);

  bool has(const std::string& key) const;
  /// Keys in sorted order.
  std::vector<std::string> keys() const;
  /// The object under `key`; InputError "\"<path>key\" must be an object"
  /// when it is something else (or absent).
  JsonObject object(const std::string& key) const;
  /// InputError "unknown key \"<path>key\"" for the first key not in `allowed`.
  void reject_unknown(std::initializer_list<const char*> allowed) const;
  /// Reads `key` into `out` (left unchanged when the key is absent). V is
  /// long, unsigned long, int, double, bool or std::string. Integers must be
  /// integral values V holds ("\"model.width\" = 1e+300 is not an integer in
  /// range"); any other mismatch is "\"<path>key\" has the wrong type (...)".
  template <class V>
  void read(const std::string& key, V& out) const;
  /// Sets `key` (V as for read).
  template <class V>
  void set(const std::string& key, const V& value);
  void set(const std::string& key, const char* value) { set(key, std::string(value)); }
  void set_object(const std::string& key, const JsonObject& child);
  /// The value under `key` as compact JSON text ("" when absent).
  std::string dump_value(const std::string& key) const;
  /// The whole object as JSON text (keys sorted; pretty with `indent` spaces,
  /// compact when < 0).
  std::string dump(int indent = -1) const;
  /// Where this object came from, as errors name it.
  const std::string& source() const { return m_source; }

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  std::string m_source;  // file (or file + " (metadata)") for errors
  std::string m_path;    // "model." for a nested object
};

}  // namespace lowrank::io
