#pragma once
// JSON summaries (run reports, fitted-model metadata).
#include <string>

#include <nlohmann/json.hpp>

namespace lowrank::io {

/// Writes `value` as JSON (pretty with `indent` spaces, compact when < 0)
/// followed by a newline, atomically (temporary file + rename), so a reader
/// never sees half a file. Non-finite numbers are written as null (JSON has
/// no NaN). Throws InputError when the file cannot be written.
void write_json(const std::string& path, const nlohmann::json& value, int indent = 2);

/// Parses a JSON file; throws InputError with the byte offset of a syntax error.
nlohmann::json read_json(const std::string& path);

}  // namespace lowrank::io
