#pragma once
// JSON forms of the diagnostics reports, for `--json` output (CLI) and the
// Python module (issue 27: JSON output is built in the front-ends, the
// library includes no JSON). Front-end code shared by app/ and python/src,
// compiled once into the static library lowrank_frontend; not installed.
#include <nlohmann/json.hpp>

#include "lowrank/diagnostics/bound.hpp"
#include "lowrank/diagnostics/inspect.hpp"
#include "lowrank/diagnostics/logits.hpp"
#include "lowrank/diagnostics/nfa.hpp"
#include "lowrank/diagnostics/spectrum.hpp"

namespace lowrank::frontend {

/// Spectrum summary; `with_values` adds the singular values.
nlohmann::json to_json(const diagnostics::SpectrumDiagnostics& d, bool with_values = false);
/// Rank-sparse bound (null where a figure is NaN).
nlohmann::json to_json(const diagnostics::RankSparseBound& b);
/// Inspect report: every layer's spectrum and the bound.
nlohmann::json to_json(const diagnostics::InspectReport& r, bool with_values = false);
/// Logit-matrix rank analysis; `with_values` adds the singular values.
nlohmann::json to_json(const diagnostics::LogitRankResult& r, bool with_values = true);
/// LINGEN coefficients and KL figures.
nlohmann::json to_json(const diagnostics::LingenResult& r);
/// NFA correlations (null where undefined).
nlohmann::json to_json(const diagnostics::AlphaCorrelations& c);
nlohmann::json to_json(const diagnostics::NfaReport& r);

}  // namespace lowrank::frontend
