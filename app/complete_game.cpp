// `lowrank complete --method game`: flags -> GamePathOptions and row groups
// (lowrank::fit's FitOptions), and lowrank::fit's result -> the per-group
// report. No numerics here.
#include "complete_game.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "cli_common.hpp"
#include "lowrank/completion/convert.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/version.hpp"
#include "lowrank/game/path.hpp"
#include "lowrank/io.hpp"

namespace lowrank::cli {

namespace fs = std::filesystem;

void add_game_flags(CLI::App& cmd, GameFlags& f) {
  const GamePathOptions d;
  cmd.add_option("--groups", f.groups,
                 "GAME: row attribute table (CSV with header, or e.g. MovieLens u.user with --groups-names); "
                 "rows matched to the data by id");
  cmd.add_option("--groups-names", f.group_names,
                 "GAME: column names of a headerless attribute table, id first (e.g. user,age,gender,occupation,zip)")
      ->delimiter(',');
  cmd.add_option("--group-cols", f.group_cols, "GAME: attribute columns whose levels become groups, comma-separated")
      ->delimiter(',');
  cmd.add_option("--bins", f.bins,
                 "GAME: bin a numeric column, COL=e0,e1,...,ek (repeatable), e.g. age=0,25,35,45,100");
  cmd.add_flag("--global,!--no-global", f.global,
               fmt::format("GAME: add the global group of all rows (default {})",
                           d.game.include_global_group ? "on" : "off"));
  cmd.add_option("--variant", f.variant,
                 fmt::format("GAME: sum (overlapping group nuclear norms) | latent (sum of group components); "
                             "default {}",
                             to_string(d.game.variant)))
      ->check(CLI::IsMember({"sum", "latent"}));
  cmd.add_option("--game-storage", f.storage,
                 "GAME: auto (factored where the variant and solver allow it, else dense) | dense (m x n "
                 "arrays) | factored (latent variant with the proximal-gradient solver only: components as SVT "
                 "factors, data term on the observed entries; memory O(nnz + (m + n) rank))")
      ->check(CLI::IsMember({"auto", "dense", "factored"}))
      ->capture_default_str();
  cmd.add_option("--cv-tol", f.cv_tol,
                 fmt::format("GAME: tolerance of the fits that only score a CV fold (without --cv: of the path's "
                             "lambdas above the last; default {:g}, never tighter than --tol; 0 = --tol); the "
                             "reported fit keeps --tol",
                             d.cv_tolerance))
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--cv-patience", f.cv_patience,
                 fmt::format("GAME: a fold stops once its validation RMSE has risen for this many lambdas past its "
                             "minimum, or at the first rise that is significant (paired z >= 1.645 over the held-out "
                             "errors); rises count once the error is 0.1 % below the first lambda's (default {}; 0 "
                             "= whole grid)",
                             d.patience))
      ->check(CLI::Range(0, 1000));
  cmd.add_option("--cv-precision", f.cv_precision,
                 fmt::format("GAME: precision of those fits, float (half the time, same CV errors to 1e-6 on "
                             "MovieLens-100k) | double (default {}); the reported fit is always double",
                             d.cv_float ? "float" : "double"))
      ->check(CLI::IsMember({"float", "double"}));
  cmd.add_option("--game-solver", f.solver,
                 fmt::format("GAME: proximal-gradient | admm (default {})", to_string(d.game.solver)))
      ->check(CLI::IsMember({"admm", "proximal-gradient", "fista"}));
  cmd.add_option("--group-weights", f.weights,
                 fmt::format("GAME: sqrt-size-plus-sqrt-cols | sqrt-size | uniform (default {})",
                             to_string(d.game.weight_scheme)))
      ->check(CLI::IsMember({"sqrt-size-plus-sqrt-cols", "sqrt-size", "uniform"}));
  cmd.add_option("--weight-cv", f.weight_search,
                 fmt::format("GAME: choose the group weights by CV (needs CV): none | schemes (the --group-weights "
                             "scheme, the other schemes and sampling-aware weights, each a CV path on the same "
                             "folds) | per-group (each group's weight times each --weight-multipliers, one "
                             "coordinate pass; 1 + groups x multipliers CV paths); default {}",
                             to_string(d.weight_search)))
      ->check(CLI::IsMember({"none", "schemes", "per-group"}));
  cmd.add_option("--weight-multipliers", f.weight_multipliers,
                 fmt::format("GAME: factors tried on each group's weight by --weight-cv per-group (default {})",
                             fmt::join(d.weight_multipliers, ",")))
      ->delimiter(',');
  cmd.add_flag("--no-center", f.no_center,
               "GAME: do not remove row and column means before fitting (= --centering none)");
  cmd.add_option("--subspaces", f.subspaces,
                 "GAME: directory for each group's right singular subspace (NN_V.npy, NN_S.npy, groups.json)");
}

namespace {

std::map<std::string, std::vector<double>> parse_bins(const std::vector<std::string>& specs) {
  std::map<std::string, std::vector<double>> bins;
  for (const auto& s : specs) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
      throw InvalidArgument("--bins expects COL=e0,e1,...; got '" + s + "'");
    std::vector<double> edges;
    std::size_t pos = eq + 1;
    while (pos <= s.size()) {
      const auto comma = s.find(',', pos);
      const std::string tok = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(tok, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != tok.size())
        throw InvalidArgument("--bins: '" + tok + "' in '" + s + "' is not a number");
      edges.push_back(v);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (edges.size() < 2) throw InvalidArgument("--bins: '" + s + "' needs at least two edges");
    bins[s.substr(0, eq)] = edges;
  }
  return bins;
}

nlohmann::json metrics(const ErrorMetrics& m) { return {{"rmse", m.rmse}, {"mae", m.mae}, {"count", m.count}}; }

std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return out;
}

}  // namespace

GameSetup game_setup(const GameFlags& f, const GameRunInput& in) {
  if (f.groups.empty()) throw InvalidArgument("--method game needs --groups ATTRIBUTES and --group-cols COLUMNS");
  if (f.group_cols.empty()) throw InvalidArgument("--method game needs --group-cols (e.g. --group-cols age,gender)");
  const ObservedEntries<double>& train = *in.train;

  io::AttributeReadOptions ao;
  ao.names = f.group_names;
  const io::AttributeTable table = io::read_attribute_table(f.groups, ao);
  GameSetup setup;
  setup.groups = io::make_row_groups(table, train.row_ids, f.group_cols, parse_bins(f.bins));

  GamePathOptions& po = setup.options;
  po.centering = f.no_center ? Centering::None : in.centering;
  po.lambda = in.lambda;
  if (in.lambda_path > 0) po.lambdas = in.lambda_path;
  if (in.min_ratio) po.min_ratio = *in.min_ratio;
  // --cv K: K folds; --lambda or --lambda-path alone: no CV; neither: the default folds
  if (in.lambda) po.folds = 0;
  else if (in.cv > 0) po.folds = in.cv;
  else if (in.lambda_path > 0) po.folds = 0;
  po.seed = in.seed;
  po.lambda_scaling = in.cv_scaling;
  po.cv_tolerance = f.cv_tol;
  po.cv_float = f.cv_precision == "float";
  po.patience = f.cv_patience;
  GameOptions& go = po.game;
  go.variant = parse_game_variant(f.variant);
  go.solver = parse_game_solver(f.solver);
  go.storage = parse_game_storage(f.storage);
  go.weight_scheme = parse_game_weight_scheme(f.weights);
  po.weight_search = parse_game_weight_search(f.weight_search);
  po.weight_multipliers = f.weight_multipliers;
  go.include_global_group = f.global;
  go.seed = in.seed;
  if (in.tolerance > 0) go.tolerance = in.tolerance;
  if (in.max_iterations > 0) go.max_iterations = in.max_iterations;
  if (in.rank) go.max_rank = *in.rank;
  // A path reports one line per lambda with totals (game_path_progress); only
  // a single fit at a given lambda reports its iterations.
  if (in.lambda) go.progress = in.progress;
  else po.progress = game_path_progress(po, in.progress);
  return setup;
}

nlohmann::json game_report(const GameFlags& f, const GameSetup& setup, const CompletionFit<double>& fit,
                           const GameRunInput& in) {
  const GameReport<double>& r = *fit.game;
  if (!r.fitted) {
    // Ctrl-C before the first fit's first iteration: nothing to keep.
    warn(fmt::format("{} ({} fits done): nothing to report or save", fit.stop_reason, r.fits));
    std::fflush(stdout);
    std::exit(130);
  }
  const RowGroups& user_groups = setup.groups.groups;
  const GameGroupErrors<double> tr = game_group_errors(fit.model, user_groups, *in.train);
  std::optional<GameGroupErrors<double>> te;
  if (in.test) te = game_group_errors(fit.model, user_groups, *in.test);
  nlohmann::json groups = nlohmann::json::array();
  for (std::size_t k = 0; k < r.groups.size(); ++k) {
    const GameReport<double>::Group& g = r.groups[k];
    const Vector<double>& sv = game_group_factors(fit, k).d;
    nlohmann::json s = nlohmann::json::array();
    for (Index i = 0; i < std::min<Index>(sv.size(), 10); ++i) s.push_back(sv(i));
    nlohmann::json row{{"name", g.name},
                       {"size", g.size},
                       {"observed", g.observed},
                       {"weight", g.weight},
                       {"rank", g.rank},
                       {"effective_rank", g.effective_rank},
                       {"rank_capped", g.rank_capped},
                       {"top_singular_values", s}};
    if (k < user_groups.size()) {
      row["train"] = metrics(tr.groups[k]);
      if (te) row["test"] = metrics(te->groups[k]);
    }
    groups.push_back(row);
  }
  nlohmann::json report = {{"variant", f.variant},
                           {"storage", r.storage},
                           {"solver", r.solver},
                           {"weights", f.weights},
                           {"global_group", f.global},
                           {"centered", fit.centering != Centering::None},
                           {"centering", to_string(fit.centering)},
                           {"lambda_max", fit.lambda_max},
                           {"fits", r.fits},
                           {"discarded_fits", r.discarded_fits},
                           {"inner_sweeps", r.inner_sweeps},
                           {"path_seconds", fit.elapsed_s},
                           {"kkt",
                            {{"computed", r.kkt.computed},
                             {"max", r.kkt.max},
                             {"stationarity", r.kkt.stationarity},
                             {"dual_feasibility", r.kkt.dual_feasibility},
                             {"complementarity", r.kkt.complementarity},
                             {"consensus", r.kkt.consensus}}},
                           {"unmatched_attribute_rows", setup.groups.unmatched_attribute_rows},
                           {"groups", groups}};
  for (const CenteringScore& c : fit.centering_scores)
    report["centering_scores"][to_string(c.centering)] = {{"cv_rmse", c.best_rmse}, {"lambda", c.best_lambda}};
  if (!r.weight_scores.empty()) {
    report["weighting"] = r.weighting;
    nlohmann::json ws = nlohmann::json::array();
    for (const GameWeightScore& w : r.weight_scores)
      ws.push_back({{"candidate", w.candidate}, {"weights", w.weights}, {"cv_rmse", w.cv_rmse}, {"lambda", w.lambda}});
    report["weight_scores"] = ws;
  }

  if (!f.subspaces.empty()) {
    fs::create_directories(f.subspaces);
    nlohmann::json index = nlohmann::json::array();
    for (std::size_t k = 0; k < r.groups.size(); ++k) {
      const std::string stem = fmt::format("{:02d}_{}", k, file_safe(r.groups[k].name));
      io::write_npy((fs::path(f.subspaces) / (stem + "_V.npy")).string(), game_group_factors(fit, k).V);
      io::write_npy((fs::path(f.subspaces) / (stem + "_S.npy")).string(), game_group_factors(fit, k).d);
      index.push_back(
          {{"name", r.groups[k].name}, {"V", stem + "_V.npy"}, {"S", stem + "_S.npy"}, {"rank", r.groups[k].rank}});
    }
    io::write_json((fs::path(f.subspaces) / "groups.json").string(),
                   {{"columns", in.train->cols},
                    {"groups", index},
                    {"lowrank_version", kVersion},
                    {"note", "V: n x r right singular vectors of each group's block, S: its singular values"}});
    report["subspaces"] = f.subspaces;
  }
  return report;
}

}  // namespace lowrank::cli
