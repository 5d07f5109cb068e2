// JSON forms of the diagnostics reports (report_json.hpp), built in the
// front-ends: the diagnostics library includes no JSON library.
#include "report_json.hpp"

#include <cmath>
#include <vector>

namespace lowrank::frontend {

using namespace lowrank::diagnostics;  // the report types

// ---- spectrum ----

nlohmann::json to_json(const SpectrumDiagnostics& d, bool with_values) {
  nlohmann::json j;
  j["rows"] = d.rows;
  j["cols"] = d.cols;
  j["rank_tolerance"] = d.rank_tolerance;
  j["numerical_rank"] = d.numerical_rank;
  j["stable_rank"] = d.stable_rank;
  j["entropy_rank"] = d.entropy_rank;
  j["participation_ratio"] = d.participation_ratio;
  j["energy_rank_90"] = d.energy_rank_90;
  j["energy_rank_99"] = d.energy_rank_99;
  j["frobenius"] = d.frobenius;
  j["spectral"] = d.spectral;
  j["nuclear"] = d.nuclear;
  nlohmann::json sch = nlohmann::json::array();
  for (const auto& p : d.schatten) sch.push_back({{"p", p.p}, {"sum", p.sum}, {"ratio", p.ratio}});
  j["schatten"] = sch;
  j["decay"] = {{"alpha", d.decay.alpha},
                {"c", d.decay.c},
                {"first", d.decay.first},
                {"last", d.decay.last},
                {"r_squared", d.decay.r_squared}};
  j["esd_tail"] = {{"alpha", d.esd_tail.alpha},
                   {"xmin", d.esd_tail.xmin},
                   {"n_tail", d.esd_tail.n_tail},
                   {"ks", d.esd_tail.ks}};
  j["timing"] = {{"svd_s", d.svd_seconds}, {"esd_tail_s", d.esd_tail_seconds}};
  if (with_values) {
    j["singular_values"] =
        std::vector<double>(d.singular_values.data(), d.singular_values.data() + d.singular_values.size());
  }
  return j;
}

// ---- bound ----

nlohmann::json to_json(const RankSparseBound& b) {
  nlohmann::json j;
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& t : b.layers) {
    layers.push_back({{"name", t.name},
                      {"p", t.p},
                      {"term", t.term},
                      {"term_spectral", t.term_spectral},
                      {"rank", t.rank},
                      {"limit", t.limit}});
  }
  j["layers"] = layers;
  j["log_gamma"] = b.log_gamma;
  j["r_squared"] = b.r_squared;
  j["r_squared_spectral"] = b.r_squared_spectral;
  j["r_squared_limit"] = b.r_squared_limit;
  j["bound"] = std::isnan(b.bound) ? nlohmann::json() : nlohmann::json(b.bound);
  j["bound_spectral"] = std::isnan(b.bound_spectral) ? nlohmann::json() : nlohmann::json(b.bound_spectral);
  j["input_norm"] = b.input_norm;
  j["margin"] = b.margin;
  j["defaulted"] = {{"input_norm", b.input_norm_defaulted},
                    {"margin", b.margin_defaulted},
                    {"samples", b.samples_missing}};
  j["warnings"] = b.warnings;
  return j;
}

// ---- inspect ----

nlohmann::json to_json(const InspectReport& r, bool with_values) {
  nlohmann::json j;
  j["path"] = r.path;
  j["status"] = to_string(r.status);
  j["seconds"] = r.seconds;
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) {
    nlohmann::json lj = to_json(l.spectrum, with_values);
    lj["name"] = l.tensor.name;
    lj["dtype"] = l.tensor.dtype;
    lj["shape"] = l.tensor.shape;
    layers.push_back(std::move(lj));
  }
  j["layers"] = layers;
  if (!r.layers.empty()) j["bound"] = to_json(r.bound);
  return j;
}

// ---- logits ----

nlohmann::json to_json(const LogitRankResult& r, bool with_values) {
  nlohmann::json j;
  j["rows"] = r.rows;
  j["cols"] = r.cols;
  j["alpha"] = r.decay.alpha;
  j["fit"] = {{"alpha", r.decay.alpha},
              {"c", r.decay.c},
              {"first", r.decay.first},
              {"last", r.decay.last},
              {"r_squared", r.decay.r_squared}};
  j["stable_rank"] = r.stable_rank;
  j["energy_rank_90"] = r.energy_rank_90;
  j["energy_rank_99"] = r.energy_rank_99;
  auto rec = nlohmann::json::array();
  for (const auto& p : r.reconstruction)
    rec.push_back({{"rank", p.rank}, {"relative_error", p.relative_error}, {"mean_kl", p.mean_kl}});
  j["reconstruction"] = rec;
  if (with_values)
    j["singular_values"] =
        std::vector<double>(r.singular_values.data(), r.singular_values.data() + r.singular_values.size());
  return j;
}

nlohmann::json to_json(const LingenResult& r) {
  nlohmann::json j;
  j["status"] = to_string(r.status);
  j["coefficients"] = std::vector<double>(r.coefficients.data(), r.coefficients.data() + r.coefficients.size());
  j["coefficient_sum"] = r.coefficients.sum();
  j["fit_relative_residual"] = r.fit_relative_residual;
  j["mean_kl_lingen"] = r.mean_kl_lingen;
  j["mean_kl_baseline"] = r.mean_kl_baseline;
  j["kl_lingen_by_step"] = r.kl_lingen_by_step;
  j["kl_baseline_by_step"] = r.kl_baseline_by_step;
  return j;
}

// ---- nfa ----

namespace {
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
nlohmann::json vec(const Vector<double>& v) {
  auto a = nlohmann::json::array();
  for (Index i = 0; i < v.size(); ++i) a.push_back(num(v(i)));
  return a;
}
}  // namespace

nlohmann::json to_json(const AlphaCorrelations& c) {
  return {{"alpha_1", num(c.one)},       {"alpha_half", num(c.half)},       {"alpha_inv_depth", num(c.inv_depth)},
          {"alpha_layer", num(c.layer)}, {"best_alpha", num(c.best_alpha)}, {"best", num(c.best)}};
}

nlohmann::json to_json(const NfaReport& r) {
  nlohmann::json j;
  j["depth"] = r.depth;
  j["inputs"] = r.inputs;
  j["subtract_init"] = r.subtract_init;
  j["primary_nfm"] = r.subtract_init ? "(W - W_init)^T (W - W_init)" : "W^T W";
  j["status"] = to_string(r.status);
  j["seconds"] = r.seconds;
  auto layers = nlohmann::json::array();
  for (std::size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    nlohmann::json lj;
    lj["name"] = l.name;
    lj["in"] = l.in;
    lj["out"] = l.out;
    lj["alpha_layer"] = 1.0 / static_cast<double>(r.depth - static_cast<Index>(i));
    lj["uncentred"] = to_json(l.uncentred);
    lj["centred"] = to_json(l.centred);
    lj["raw"] = to_json(l.raw);
    lj["pearson_half"] = num(l.pearson_half);
    lj["pearson_half_centred"] = num(l.pearson_half_centred);
    if (l.has_init) {
      lj["init"] = to_json(l.init);
      lj["baseline"] = to_json(l.baseline);
    }
    lj["agop_eigenvalues"] = vec(l.agop_eigenvalues);
    lj["feature_eigenvalues"] = vec(l.feature_eigenvalues);
    lj["agop_trace"] = num(l.agop_trace);
    lj["agop_stable_rank"] = num(l.agop_stable_rank);
    lj["feature_trace"] = num(l.feature_trace);
    lj["feature_stable_rank"] = num(l.feature_stable_rank);
    layers.push_back(std::move(lj));
  }
  j["layers"] = std::move(layers);
  return j;
}

}  // namespace lowrank::frontend
