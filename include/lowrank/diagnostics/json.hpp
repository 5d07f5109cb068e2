#pragma once
// JSON forms of the diagnostics reports, for `--json` output (CLI) and the
// Python module. Kept apart from the numerical headers so that they include
// no JSON library; this header and src/diagnostics/json.cpp are the only
// JSON in the diagnostics area.
#include <nlohmann/json.hpp>

#include "lowrank/diagnostics/bound.hpp"
#include "lowrank/diagnostics/inspect.hpp"
#include "lowrank/diagnostics/logits.hpp"
#include "lowrank/diagnostics/nfa.hpp"
#include "lowrank/diagnostics/spectrum.hpp"

namespace lowrank::diagnostics {

/// Spectrum summary; `with_values` adds the singular values.
nlohmann::json to_json(const SpectrumDiagnostics& d, bool with_values = false);
/// Rank-sparse bound (null where a figure is NaN).
nlohmann::json to_json(const RankSparseBound& b);
/// Inspect report: every layer's spectrum and the bound.
nlohmann::json to_json(const InspectReport& r, bool with_values = false);
/// Logit-matrix rank analysis; `with_values` adds the singular values.
nlohmann::json to_json(const LogitRankResult& r, bool with_values = true);
/// LINGEN coefficients and KL figures.
nlohmann::json to_json(const LingenResult& r);
/// NFA correlations (null where undefined).
nlohmann::json to_json(const AlphaCorrelations& c);
nlohmann::json to_json(const NfaReport& r);

}  // namespace lowrank::diagnostics
