// lowrank complete / lowrank predict: matrix completion from observed entries.
// Flags -> library options -> fit -> report; no numerics here.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "cli_common.hpp"
#include "complete_game.hpp"
#include "lowrank/completion/als.hpp"
#include "lowrank/completion/convert.hpp"
#include "lowrank/completion/fit.hpp"
#include "lowrank/completion/model.hpp"
#include "lowrank/completion/path.hpp"
#include "lowrank/completion/robust_pca.hpp"
#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/splits.hpp"
#include "lowrank/core/version.hpp"
#include "lowrank/fit.hpp"
#include "lowrank/io.hpp"
#include "lowrank/io/completion_model.hpp"

namespace lowrank::cli {

namespace fs = std::filesystem;

namespace {

struct CompleteFlags {
  std::string train;
  std::string test;
  double holdout = 0;
  std::uint64_t seed = 0;
  std::string method = to_string(CompletionFitOptions{}.method);
  std::optional<double> lambda;
  int lambda_path = 0;
  // unset: 1e-3 for soft-impute, 0.02 for GAME (GameRunInput's default)
  std::optional<double> min_ratio;
  std::string cv_scaling = to_string(CompletionFitOptions{}.cv_scaling);
  int cv = 0;
  std::optional<Index> rank;
  std::string centering = to_string(CompletionFitOptions{}.centering);
  bool scale = false;
  bool center = false;
  bool debias = false;
  bool biases = false;
  std::string als_init = to_string(AlsOptions{}.init);
  int max_iterations = 0;
  double tolerance = 0;
  InputFlags input;
  bool log1p = false;
  bool clip = false;
  bool float32 = false;
  std::string svd_method = to_string(CompletionFitOptions{}.soft_impute.svd.method);
  std::string out;
  GameFlags game;
  CommonFlags common;
};

struct Data {
  ObservedEntries<double> train;
  /// --float32 with a triplet file: the training entries as read, in float;
  /// the fit moves them into `train` (values widened) when it ends.
  ObservedEntries<float> train_float;
  ObservedEntries<double> test;
  bool has_test = false;
  std::optional<io::DenseTable> dense;  ///< set when the training file was a dense table
  std::size_t unseen_test = 0;
};

// --log1p: fit log(1 + x) (counts); predictions are mapped back by expm1.
void log1p_values(ObservedEntries<double>& e, const std::string& path) {
  for (double& v : e.value) {
    if (!(v > -1.0)) throw InputError(path, fmt::format("--log1p needs every value > -1, found {}", v));
    v = std::log1p(v);
  }
}

Data load_data(const CompleteFlags& f) {
  Data d;
  ObservedEntries<double> all;
  // --float32 and a triplet file: the values go straight into float storage
  // (12 bytes per entry where reading doubles held 16, the peak of a float32
  // run at 10^7 entries; issue 32); other formats are read as usual below.
  // --holdout splits and --log1p transforms the double entries.
  std::optional<io::FloatTriplets> as_float;
  if (f.float32 && !f.log1p && f.holdout == 0) as_float = io::read_triplets_any_float32(f.train, read_options(f.input));
  if (as_float) {
    for (const auto& note : as_float->notes) warn(note);
    d.train_float = std::move(as_float->entries);
    if (d.train_float.nnz() == 0) throw InputError(f.train, "no observed entries");
  } else {
    io::AnyMatrix in = read_input(f.train, f.input);
    if (in.is_sparse()) {
      all = std::move(std::get<ObservedEntries<double>>(in.data));  // 160 MB for 10^7 entries: no copy
    } else {
      d.dense = in.dense();
      all = io::to_observed(*d.dense);
    }
    if (all.row_ids.empty()) all.row_ids = IdMap::identity(static_cast<std::size_t>(all.rows));
    if (all.col_ids.empty()) all.col_ids = IdMap::identity(static_cast<std::size_t>(all.cols));
    if (all.nnz() == 0) throw InputError(f.train, "no observed entries");
    if (f.log1p) log1p_values(all, f.train);
  }
  const IdMap& row_ids = as_float ? d.train_float.row_ids : all.row_ids;
  const IdMap& col_ids = as_float ? d.train_float.col_ids : all.col_ids;
  if (!f.test.empty()) {
    io::TripletReadOptions topts;
    topts.duplicates = parse_duplicate_policy(f.input.duplicates);
    io::MappedTriplets t = io::read_triplets_mapped(f.test, row_ids, col_ids, topts);
    if (f.log1p) log1p_values(t.entries, f.test);
    d.unseen_test = t.unseen.size();
    if (d.unseen_test > 0) {
      warn(
          fmt::format("{}: {} test entries skipped: their ids never appear in training ({} rows, {} columns; "
                      "first at line {})",
                      f.test, d.unseen_test, t.unseen_rows, t.unseen_cols, t.unseen.front().line));
    }
    d.test = std::move(t.entries);
    d.train = std::move(all);
    d.has_test = true;
  } else if (f.holdout > 0) {
    const Split s = random_holdout(all, f.holdout, f.seed);
    d.train = all.subset(s.train);
    d.test = all.subset(s.test);
    d.has_test = true;
  } else {
    d.train = std::move(all);
  }
  return d;
}

struct Fit {
  CompletionModel<double> model;
  int iterations = 0;
  Status status = Status::Success;
  double lambda = std::numeric_limits<double>::quiet_NaN();
  double objective = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::string> warnings;
  std::optional<CrossValidationResult<double>> cv;
  std::optional<PathResult<double>> path;
  std::optional<RobustPcaResult<double>> rpca;
  nlohmann::json game;     ///< --method game: per-group report
  nlohmann::json library;  ///< fit_completion's centring, stop reason, caps
  Index max_rank = 0;
  Index rank = 0;  ///< of the fitted matrix (GAME: its group parts summed)
  std::vector<std::string> caps_bound;
  std::string stop_reason;
};

// Flags -> the library's options; unset flags keep the options' defaults.
CompletionFitOptions completion_options(const CompleteFlags& f, const ProgressCallback& progress) {
  CompletionFitOptions o;
  o.method = parse_completion_method(f.method);
  o.lambda = f.lambda;
  if (f.lambda_path > 0) o.lambda_count = f.lambda_path;
  if (f.min_ratio) o.min_ratio = *f.min_ratio;
  // --lambda-path alone runs the path without CV (its last lambda is kept).
  if (f.cv > 0) o.folds = f.cv;
  else if (f.lambda_path > 0) o.folds = 0;
  // ALS: one fit at --lambda (or its default) unless --cv / --lambda-path ask
  // for the path from als_lambda_max().
  o.als_path = f.cv > 0 || f.lambda_path > 0;
  o.cv_scaling = parse_cv_lambda_scaling(f.cv_scaling);
  o.centering = f.scale ? Centering::Scale : f.center ? Centering::Center : parse_centering(f.centering);
  o.seed = f.seed;
  o.progress = progress;
  if (f.rank) o.soft_impute.max_rank = o.als.rank = *f.rank;
  o.soft_impute.debias = f.debias;
  o.soft_impute.svd.method = parse_svd_method(f.svd_method);
  o.als.biases = f.biases;
  o.als.init = parse_als_initialization(f.als_init);
  if (f.max_iterations > 0) {
    // An explicit cap is the user's: fits are not resumed past it.
    o.soft_impute.max_iterations = o.als.max_iterations = f.max_iterations;
    o.max_iteration_rounds = 1;
  }
  if (f.tolerance > 0) o.soft_impute.tolerance = o.als.tolerance = f.tolerance;
  o.float32 = f.float32;
  return o;
}

GameRunInput game_input(const CompleteFlags& f, const Data& data, const ProgressCallback& progress) {
  GameRunInput in;
  in.train = &data.train;
  in.test = data.has_test ? &data.test : nullptr;
  in.lambda = f.lambda;
  in.lambda_path = f.lambda_path;
  if (f.min_ratio) in.min_ratio = *f.min_ratio;
  in.cv_scaling = parse_cv_lambda_scaling(f.cv_scaling);
  in.cv = f.cv;
  in.rank = f.rank;
  in.centering = f.scale ? Centering::Scale : f.center ? Centering::Center : parse_centering(f.centering);
  in.seed = f.seed;
  in.max_iterations = f.max_iterations;
  in.tolerance = f.tolerance;
  in.progress = progress;
  return in;
}

// Every method but rpca through the one library call, lowrank::fit. The
// solvers store their matrix in train's arrays (fit_in_place): train comes
// back sorted by (row, col), same entries (GAME leaves it as it is). Entries
// read in float (`train_float`, non-empty) are fitted in theirs and end up in
// `train`.
Fit fit_any_method(const CompleteFlags& f, Data& data, const ProgressCallback& progress) {
  FitOptions o;
  o.completion = completion_options(f, progress);
  const bool game = o.completion.method == CompletionMethod::Game;
  std::optional<GameSetup> setup;
  if (game) {
    setup = game_setup(f.game, game_input(f, data, progress));
    o.game = setup->options;
    o.groups = setup->groups.groups;
  }
  CompletionFit<double> r =
      data.train_float.nnz() > 0 ? fit_float32_in_place(data.train_float, data.train, o) : fit_in_place(data.train, o);
  Fit fit;
  if (game) {
    // before clipping: the per-group errors are the fit's own
    fit.game = game_report(f.game, *setup, r, game_input(f, data, progress));
    fit.warnings = setup->groups.warnings;
    // the rank of the matrix the group parts sum to, as one SVD
    fit.rank = collapse_groups(r.model).rank();
  }
  fit.model = std::move(r.model);
  if (!game) fit.rank = fit.model.rank();
  fit.iterations = r.iterations;
  fit.status = r.status;
  fit.lambda = r.lambda;
  fit.objective = r.game ? r.game->objective : r.objective_trace.empty() ? fit.objective : r.objective_trace.back();
  fit.warnings.insert(fit.warnings.end(), r.warnings.begin(), r.warnings.end());
  fit.cv = std::move(r.cv);
  fit.path = std::move(r.path);
  fit.library = nlohmann::json{{"centering", to_string(r.centering)},
                               {"stop_reason", r.stop_reason},
                               {"caps_bound", r.caps_bound},
                               {"cv_seconds", r.cv_seconds}};
  if (o.completion.method == CompletionMethod::SoftImpute || o.completion.method == CompletionMethod::SoftImputeSvd)
    fit.library["max_rank"] = r.max_rank;
  if (r.lambda_max >= 0) fit.library["lambda_max"] = r.lambda_max;
  for (const auto& c : r.centering_scores) {
    fit.library["centering_scores"][to_string(c.centering)] = {{"cv_rmse", c.best_rmse}, {"lambda", c.best_lambda}};
  }
  fit.max_rank = r.max_rank;
  fit.caps_bound = r.caps_bound;
  fit.stop_reason = r.stop_reason;
  return fit;
}

Fit fit_rpca(const CompleteFlags& f, const ObservedEntries<double>& train, const ProgressCallback& progress) {
  if (f.cv > 0 || f.lambda_path > 0) throw InvalidArgument("--lambda-path / --cv do not apply to rpca");
  RobustPcaOptions o;
  if (f.lambda) o.lambda = *f.lambda;
  o.progress = progress;
  if (f.max_iterations > 0) o.max_iterations = f.max_iterations;
  if (f.tolerance > 0) o.tolerance = f.tolerance;
  Fit fit;
  fit.rpca = robust_pca(train, o);
  fit.model = fit.rpca->model;
  fit.rank = fit.model.rank();
  fit.iterations = fit.rpca->iterations;
  fit.status = fit.rpca->status;
  fit.lambda = fit.rpca->lambda;
  fit.objective = fit.rpca->objective_trace.empty() ? fit.objective : fit.rpca->objective_trace.back();
  return fit;
}

nlohmann::json metrics_json(const ErrorMetrics& m) { return {{"rmse", m.rmse}, {"mae", m.mae}, {"count", m.count}}; }

// cv.svg: validation RMSE (mean +- sd over folds) against lambda on a log
// axis, the chosen lambda marked; a self-contained SVG any browser opens.
void write_cv_plot(const std::string& path, const CrossValidationResult<double>& cv) {
  std::vector<const CrossValidationRow*> rows;
  for (const auto& r : cv.table)
    if (r.lambda > 0 && std::isfinite(r.mean_rmse)) rows.push_back(&r);
  if (rows.size() < 2) return;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto* r : rows) {
    x0 = std::min(x0, std::log10(r->lambda));
    x1 = std::max(x1, std::log10(r->lambda));
    const double sd = std::isfinite(r->sd_rmse) ? r->sd_rmse : 0.0;
    y0 = std::min(y0, r->mean_rmse - sd);
    y1 = std::max(y1, r->mean_rmse + sd);
  }
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1e-12 + 1e-6 * std::abs(y0);
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  const double W = 640, H = 420, L = 70, R = 20, T = 30, B = 50;
  auto px = [&](double lam) { return L + (std::log10(lam) - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double v) { return T + (y1 - v) / (y1 - y0) * (H - T - B); };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"18\" text-anchor=\"middle\">{3}-fold cross-validation (mean &#177; sd over folds)</text>\n"
      "<line x1=\"{4}\" y1=\"{5}\" x2=\"{6}\" y2=\"{5}\" stroke=\"black\"/>\n"
      "<line x1=\"{4}\" y1=\"{7}\" x2=\"{4}\" y2=\"{5}\" stroke=\"black\"/>\n"
      "<text x=\"{2}\" y=\"{8}\" text-anchor=\"middle\">lambda (log scale)</text>\n"
      "<text x=\"16\" y=\"{9}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {9})\">validation RMSE</text>\n",
      W, H, (L + W - R) / 2, rows.front()->folds, L, H - B, W - R, T, H - 12, (T + H - B) / 2);
  for (int k = static_cast<int>(std::floor(x0)); k <= static_cast<int>(std::ceil(x1)); ++k) {
    if (k < x0 - 1e-9 || k > x1 + 1e-9) continue;
    const double x = px(std::pow(10.0, k));
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"black\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">1e{4}</text>\n",
        x, H - B, H - B + 5, H - B + 18, k);
  }
  for (int k = 0; k <= 4; ++k) {
    const double v = y0 + (y1 - y0) * k / 4.0;
    s += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"black\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:.4g}</text>\n",
        L - 5, py(v), L, L - 8, py(v) + 4, v);
  }
  std::string pts;
  for (const auto* r : rows) {
    const double sd = std::isfinite(r->sd_rmse) ? r->sd_rmse : 0.0;
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#9ab\"/>\n",
                     px(r->lambda), py(r->mean_rmse - sd), py(r->mean_rmse + sd));
    pts += fmt::format("{:.1f},{:.1f} ", px(r->lambda), py(r->mean_rmse));
  }
  s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\"/>\n", pts);
  for (const auto* r : rows)
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"#1f5fa8\"/>\n", px(r->lambda),
                     py(r->mean_rmse));
  if (cv.best_lambda > 0) {
    const double xb = px(cv.best_lambda);
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#c33\" "
        "stroke-dasharray=\"4 3\"/><text x=\"{3:.1f}\" y=\"{4}\" fill=\"#c33\">best lambda {5:.4g}</text>\n",
        xb, T, H - B, xb + 4, T + 14, cv.best_lambda);
  }
  s += "</svg>\n";
  std::FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) throw InputError(path, "cannot write the CV plot");
  std::fputs(s.c_str(), fp);
  std::fclose(fp);
}

// The CV table's rows as JSON objects (stdout's --json and cv.json alike).
nlohmann::json cv_rows_json(const CrossValidationResult<double>& cv) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : cv.table) {
    rows.push_back({{"lambda", r.lambda},
                    {"mean_rmse", r.mean_rmse},
                    {"sd_rmse", r.sd_rmse},
                    {"mean_mae", r.mean_mae},
                    {"mean_rank", r.mean_rank},
                    {"folds", r.folds}});
  }
  return rows;
}

nlohmann::json cv_json(const CrossValidationResult<double>& cv) {
  return {{"best_lambda", cv.best_lambda}, {"best_index", cv.best_index}, {"fits", cv.fits},
          {"capped_fits", cv.capped_fits}, {"seconds", cv.seconds},       {"table", cv_rows_json(cv)}};
}

void write_cv_table(const std::string& dir, const CrossValidationResult<double>& cv) {
  const nlohmann::json rows = cv_rows_json(cv);
  std::string csv = "lambda,mean_rmse,sd_rmse,mean_mae,mean_rank,folds\n";
  for (const auto& r : cv.table) {
    csv += fmt::format("{:.10g},{:.10g},{:.10g},{:.10g},{:.6g},{}\n", r.lambda, r.mean_rmse, r.sd_rmse, r.mean_mae,
                       r.mean_rank, r.folds);
  }
  io::write_json((fs::path(dir) / "cv.json").string(),
                 {{"best_lambda", cv.best_lambda}, {"table", rows}, {"lowrank_version", kVersion}});
  std::FILE* fp = std::fopen((fs::path(dir) / "cv.csv").string().c_str(), "wb");
  if (!fp) throw InputError(dir, "cannot write cv.csv");
  std::fputs(csv.c_str(), fp);
  std::fclose(fp);
  write_cv_plot((fs::path(dir) / "cv.svg").string(), cv);
}

void run_complete(const CompleteFlags& f) {
  apply_common_flags(f.common);
  const auto t0 = std::chrono::steady_clock::now();
  if (f.holdout != 0 && !(f.holdout > 0 && f.holdout < 1)) {
    throw InvalidArgument(fmt::format("--holdout must be in (0, 1), got {}", f.holdout));
  }
  if (f.holdout > 0 && !f.test.empty()) throw InvalidArgument("give either --test or --holdout, not both");
  if (f.lambda && (f.lambda_path > 0 || f.cv > 0)) throw InvalidArgument("give either --lambda or --lambda-path/--cv");
  if (f.lambda && *f.lambda < 0) throw InvalidArgument(fmt::format("--lambda must be >= 0, got {}", *f.lambda));
  if (f.rank && *f.rank < 1) throw InvalidArgument(fmt::format("--rank must be >= 1, got {}", *f.rank));
  if (f.float32 && (f.method == "game" || f.method == "rpca"))
    throw InvalidArgument("--float32 applies to soft-impute, soft-impute-svd, als and robust-als");
  if (f.out.empty())
    warn("no --out: the fit is reported but not saved (give --out DIR to keep the model for predict / recommend)");

  Data data = load_data(f);
  const ProgressCallback progress = stderr_progress(f.common);
  Fit fit = f.method == "rpca" ? fit_rpca(f, data.train, progress) : fit_any_method(f, data, progress);
  if (f.clip) clip_to_range(fit.model, data.train);
  for (const auto& w : fit.warnings) warn(w);
  if (fit.status == Status::Interrupted) {
    warn(fmt::format("interrupted: reporting and saving {}",
                     fit.stop_reason.empty() ? "the last estimate" : fit.stop_reason));
  } else if (!fit.stop_reason.empty() && fit.status != Status::Success) {
    warn(fmt::format("solver status: {} ({})", to_string(fit.status), fit.stop_reason));
  } else if (fit.status != Status::Success) {
    warn(fmt::format("solver status: {}", to_string(fit.status)));
  }
  for (const auto& cap : fit.caps_bound) {
    if (cap == "rank")
      warn(fmt::format("the rank cap {} bound: the fit would use more rank (raise --rank)", fit.max_rank));
    else if (cap == "iterations" && fit.status != Status::NotConverging)
      warn("the iteration cap bound (raise --max-iter)");
  }

  const ErrorMetrics train_m = evaluate(fit.model, data.train);
  std::optional<ErrorMetrics> test_m;
  if (data.has_test) test_m = evaluate(fit.model, data.test);
  const double seconds = seconds_since(t0);

  nlohmann::json j{{"train_file", f.train},
                   {"method", f.method},
                   {"rows", data.train.rows},
                   {"cols", data.train.cols},
                   {"train", metrics_json(train_m)},
                   {"lambda", fit.lambda},
                   {"rank", fit.rank},
                   {"iterations", fit.iterations},
                   {"objective", fit.objective},
                   {"status", to_string(fit.status)},
                   {"seconds", seconds},
                   {"seed", f.seed},
                   {"log1p", f.log1p}};
  if (fit.model.clipped()) j["clip"] = {fit.model.clip_low, fit.model.clip_high};
  if (test_m) j["test"] = metrics_json(*test_m);
  if (data.unseen_test) j["test_unseen_skipped"] = data.unseen_test;
  if (fit.cv) {
    j["cv_best_lambda"] = fit.cv->best_lambda;
    j["cv_scaling"] = f.cv_scaling;  // how the folds saw the lambdas (sqrt: lambda * sqrt(fold share))
  }
  if (!fit.game.is_null()) j["game"] = fit.game;
  if (!fit.library.is_null()) j.update(fit.library);
  if (fit.cv) j["cv"] = cv_json(*fit.cv);
  if (!f.out.empty()) {
    const ObservedMeans means = observed_means(data.train);
    nlohmann::json meta = j;
    meta["train_mean"] = means.global;
    const auto [lo, hi] = std::minmax_element(data.train.value.begin(), data.train.value.end());
    meta["train_range"] = {*lo, *hi};
    io::save_completion_model(f.out, fit.model, data.train.row_ids, data.train.col_ids, meta);
    // The training entries, which `lowrank recommend` leaves out (docs/completion.md).
    io::write_triplets((fs::path(f.out) / "seen.tsv").string(), data.train);
    fs::create_directories(fs::path(f.out) / "means");
    io::write_npy((fs::path(f.out) / "means" / "row.npy").string(), means.row);
    io::write_npy((fs::path(f.out) / "means" / "col.npy").string(), means.col);
    if (fit.cv) write_cv_table(f.out, *fit.cv);
    if (fit.rpca) {
      io::write_npy((fs::path(f.out) / "L.npy").string(), fit.rpca->model.low_rank_dense());
      LowRankModel<double> s_only;  // S alone, dense, as before the model held it
      s_only.rows = fit.model.rows;
      s_only.cols = fit.model.cols;
      s_only.U.resize(s_only.rows, 0);
      s_only.V.resize(s_only.cols, 0);
      s_only.sparse = fit.rpca->model.sparse;
      io::write_npy((fs::path(f.out) / "S.npy").string(), s_only.to_dense());
    }
    if (data.dense) {
      // Observed cells keep their values; missing ones get the prediction.
      io::DenseTable completed = *data.dense;
      Matrix<double> full = fit.model.to_dense();
      for (Index c = 0; c < full.cols(); ++c)
        for (Index r = 0; r < full.rows(); ++r)
          if (std::isnan(completed.values(r, c)))
            completed.values(r, c) = f.log1p ? std::expm1(full(r, c)) : full(r, c);
      io::write_dense_csv((fs::path(f.out) / "completed.csv").string(), completed);
    }
    j["out"] = f.out;
  }
  if (f.common.json) {
    print_json(j);
    return;
  }
  fmt::print("{}: {} x {}, {} observed training entries\n", f.train, data.train.rows, data.train.cols,
             data.train.nnz());
  std::string caps;
  for (const auto& c : fit.caps_bound) caps += (caps.empty() ? "" : ", ") + c;
  fmt::print("method {}{}  lambda {:.6g}  rank {}  iterations {}  status {}{}  {:.2f} s\n", f.method,
             fit.library.contains("centering")
                 ? fmt::format("  centering {}", fit.library["centering"].get<std::string>())
                 : std::string(),
             fit.lambda, fit.rank, fit.iterations, to_string(fit.status),
             caps.empty() ? std::string() : fmt::format("  (cap bound: {})", caps), seconds);
  if (!fit.stop_reason.empty()) fmt::print("stopped: {}\n", fit.stop_reason);
  if (fit.library.contains("centering_scores") && fit.library["centering_scores"].size() > 1) {
    std::string line;
    for (const auto& [name, v] : fit.library["centering_scores"].items())
      line += fmt::format("  {} {:.5f} (lambda {:.4g})", name, v["cv_rmse"].get<double>(), v["lambda"].get<double>());
    fmt::print("centring by CV (best validation RMSE):{}\n", line);
  }
  if (fit.cv) {
    int k = 0;
    for (const auto& r : fit.cv->table) k = std::max(k, r.folds);
    fmt::print(
        "cross-validation ({} folds; rows with fewer folds were reached by some folds only):\n"
        "  {:>12s} {:>10s} {:>9s} {:>6s} {:>5s}\n",
        k, "lambda", "rmse", "sd", "rank", "folds");
    for (std::size_t i = 0; i < fit.cv->table.size(); ++i) {
      const auto& r = fit.cv->table[i];
      if (r.folds == 0) continue;
      fmt::print("  {:12.6g} {:10.5f} {:9.5f} {:6.1f} {:5d}{}\n", r.lambda, r.mean_rmse, r.sd_rmse, r.mean_rank,
                 r.folds, i == fit.cv->best_index ? "  <- best" : "");
    }
  }
  fmt::print("train RMSE {:.5f}  MAE {:.5f}  ({} entries)\n", train_m.rmse, train_m.mae, train_m.count);
  if (test_m) fmt::print("test  RMSE {:.5f}  MAE {:.5f}  ({} entries)\n", test_m->rmse, test_m->mae, test_m->count);
  if (!fit.game.is_null()) {
    std::string scores;
    if (fit.game.contains("centering_scores"))
      for (const auto& [name, v] : fit.game["centering_scores"].items())
        scores += fmt::format(" {} {:.5f}", name, v["cv_rmse"].get<double>());
    fmt::print("GAME centering {}{}\n", fit.game["centering"].get<std::string>(),
               scores.empty() ? "" : " (CV RMSE:" + scores + ")");
    if (fit.game.contains("weighting")) {
      std::string ws;
      for (const auto& w : fit.game["weight_scores"])
        ws += fmt::format("\n  {:<40s} {:.5f}", w["candidate"].get<std::string>(), w["cv_rmse"].get<double>());
      fmt::print("GAME weights chosen by CV: {} (best validation RMSE per candidate:{})\n",
                 fit.game["weighting"].get<std::string>(), ws);
    }
    fmt::print("GAME groups ({} variant, lambda_max {:.6g}):\n  {:<28s} {:>6s} {:>8s} {:>7s} {:>5s} {:>10s} {:>10s}\n",
               fit.game["variant"].get<std::string>(), fit.game["lambda_max"].get<double>(), "group", "rows",
               "observed", "weight", "rank", "train RMSE", "test RMSE");
    for (const auto& g : fit.game["groups"]) {
      const auto rmse = [&](const char* key) {
        return g.contains(key) && g[key]["count"].get<std::size_t>() > 0
                   ? fmt::format("{:10.5f}", g[key]["rmse"].get<double>())
                   : fmt::format("{:>10s}", "-");
      };
      fmt::print("  {:<28s} {:>6d} {:>8d} {:>7.3f} {:>5d} {} {}\n", g["name"].get<std::string>(), g["size"].get<long>(),
                 g["observed"].get<long>(), g["weight"].get<double>(), g["rank"].get<long>(), rmse("train"),
                 rmse("test"));
    }
  }
  if (!f.out.empty()) fmt::print("model written to {}/\n", f.out);
}

struct PredictFlags {
  std::string model;
  std::string pairs;
  std::string out;
  bool clip = false;
  CommonFlags common;
};

// A model directory and what model.json says about how to read its predictions.
struct LoadedModel {
  io::SavedCompletionModel saved;
  bool log1p = false;  ///< fitted on log(1 + x): predictions map back by expm1
};

LoadedModel load_model(const std::string& dir, bool clip) {
  LoadedModel m{io::load_completion_model(dir), false};
  m.log1p = m.saved.metadata.value("log1p", false);
  if (clip) {
    const auto& r = m.saved.metadata.contains("train_range") ? m.saved.metadata["train_range"] : nlohmann::json();
    if (!r.is_array() || r.size() != 2)
      throw InputError(dir + "/model.json", "--clip needs the training range ('train_range'), which this model lacks");
    m.saved.model.clip_low = r[0].get<double>();
    m.saved.model.clip_high = r[1].get<double>();
  }
  return m;
}

void run_predict(const PredictFlags& f) {
  apply_common_flags(f.common);
  const LoadedModel loaded = load_model(f.model, f.clip);
  const io::SavedCompletionModel& saved = loaded.saved;
  io::TripletReadOptions topts;
  topts.value_column = -1;
  topts.duplicates = DuplicatePolicy::Last;
  io::TripletReadStats stats;
  io::MappedTriplets mapped =
      io::read_triplets_mapped(f.pairs, saved.row_ids, saved.col_ids, topts, io::UnseenIdPolicy::Skip, &stats);
  const CompletionModel<double>& m = saved.model;
  // Unseen ids fall back to the training means saved beside the model.
  const std::string means_dir = (fs::path(f.model) / "means").string();
  const Vector<double> row_mean = io::read_npy((fs::path(means_dir) / "row.npy").string()).values.col(0);
  const Vector<double> col_mean = io::read_npy((fs::path(means_dir) / "col.npy").string()).values.col(0);
  const double global_mean = saved.metadata.at("train_mean").get<double>();
  std::vector<double> pred = m.predict(mapped.entries.row, mapped.entries.col);
  if (loaded.log1p)
    for (double& p : pred) p = std::expm1(p);
  // One output line per distinct request, in the order of the pairs file
  // (entries and unseen pairs come back separately, each in file order).
  struct Line {
    std::size_t line;
    std::string text;
    nlohmann::json json;
  };
  std::vector<Line> out;
  out.reserve(pred.size() + mapped.unseen.size());
  for (std::size_t k = 0; k < pred.size(); ++k) {
    const std::string& r = saved.row_ids.name(mapped.entries.row[k]);
    const std::string& c = saved.col_ids.name(mapped.entries.col[k]);
    out.push_back({mapped.lines[k],
                   fmt::format("{}\t{}\t{:.10g}\n", r, c, pred[k]),
                   {{"row", r}, {"col", c}, {"prediction", pred[k]}}});
  }
  std::size_t fallback = 0;
  for (const io::UnseenEntry& u : mapped.unseen) {
    double v = global_mean;
    if (!u.row_unseen) v = row_mean(*saved.row_ids.find(u.row_id));
    else if (!u.col_unseen) v = col_mean(*saved.col_ids.find(u.col_id));
    if (std::isnan(v)) v = global_mean;
    if (m.clipped()) v = std::clamp(v, m.clip_low, m.clip_high);
    if (loaded.log1p) v = std::expm1(v);
    out.push_back({u.line,
                   fmt::format("{}\t{}\t{:.10g}\n", u.row_id, u.col_id, v),
                   {{"row", u.row_id}, {"col", u.col_id}, {"prediction", v}, {"fallback", true}}});
    ++fallback;
  }
  std::sort(out.begin(), out.end(), [](const Line& a, const Line& b) { return a.line < b.line; });
  std::string text;
  nlohmann::json rows = nlohmann::json::array();
  for (const Line& l : out) {
    text += l.text;
    rows.push_back(l.json);
  }
  if (fallback) {
    warn(
        fmt::format("{} pairs have ids unseen in training ({} rows, {} columns): predicted by the training row / "
                    "column / global mean",
                    fallback, mapped.unseen_rows, mapped.unseen_cols));
  }
  if (stats.duplicates_removed > 0)
    warn(fmt::format("{} repeated pairs answered once (at their first line)", stats.duplicates_removed));
  if (f.out.empty()) {
    // --json: the predictions go inside the one JSON object instead.
    if (!f.common.json) std::fputs(text.c_str(), stdout);
  } else {
    std::FILE* fp = std::fopen(f.out.c_str(), "wb");
    if (!fp) throw InputError(f.out, "cannot open for writing");
    std::fputs(text.c_str(), fp);
    std::fclose(fp);
  }
  if (f.common.json) {
    nlohmann::json j{{"model", f.model}, {"pairs", pred.size() + fallback}, {"unseen", fallback}, {"out", f.out}};
    if (f.out.empty()) j["predictions"] = std::move(rows);
    print_json(j);
  }
}

}  // namespace

void register_complete(CLI::App& app) {
  auto f = std::make_shared<CompleteFlags>();
  auto* cmd = app.add_subcommand("complete", "Fill in a partially observed matrix (soft-impute, ALS, robust PCA)");
  cmd->add_option("--train", f->train, "Observed entries: triplets (row col value) or a dense CSV with empty/NA cells")
      ->required();
  cmd->add_option("--test", f->test, "Held-out triplets scored after the fit (ids as in --train)");
  cmd->add_option("--holdout", f->holdout, "Hold out this fraction of the entries at random for testing, in (0, 1)");
  cmd->add_option("--seed", f->seed, "Seed for the holdout, the CV folds and the solvers")->check(seed_validator());
  cmd->add_option("--method", f->method, "soft-impute (ALS form) | soft-impute-svd | als | robust-als | rpca | game")
      ->check(CLI::IsMember({"soft-impute", "soft-impute-svd", "als", "robust-als", "rpca", "game"}));
  cmd->add_option("--lambda", f->lambda,
                  "Regularisation: nuclear-norm weight (soft-impute), L2 weight (als), l1 weight (rpca)");
  const CompletionFitOptions d;  // the library's defaults, quoted in the help
  cmd->add_option("--lambda-path", f->lambda_path,
                  fmt::format("Number of lambdas on the log grid from lambda_max (default {}; ALS: from the "
                              "weighted lambda_max); without --cv the path runs to its end and its last lambda is kept",
                              d.lambda_count))
      ->check(CLI::PositiveNumber);
  cmd->add_option("--min-ratio", f->min_ratio,
                  fmt::format("Smallest lambda of the path as a fraction of lambda_max (default {:g}; GAME {:g})",
                              d.min_ratio, GamePathOptions{}.min_ratio))
      ->check(CLI::Range(1e-12, 0.999999));
  cmd->add_option("--cv", f->cv,
                  fmt::format("k-fold cross-validation over the lambda path (soft-impute: default {}, game {} "
                              "when no --lambda; als / robust-als: only when given, else one fit at --lambda)",
                              d.folds, GamePathOptions{}.folds))
      ->check(CLI::Range(2, 100));
  cmd->add_option("--cv-scaling", f->cv_scaling,
                  "sqrt (default): fold fits use lambda * sqrt(fold entries / entries), so the CV lambda suits the "
                  "refit on all entries; none: the grid's lambda as is")
      ->check(CLI::IsMember({"sqrt", "none"}));
  cmd->add_option("--rank", f->rank,
                  fmt::format("Rank cap (soft-impute, default {}, at most min(m, n)) or rank (als, default {})",
                              d.soft_impute.max_rank, d.als.rank));
  cmd->add_option("--centering", f->centering,
                  fmt::format("Soft-impute and GAME: what to take out before the low-rank fit: auto (default: CV "
                              "chooses between none and biases; GAME without CV: center) | none | biases (global "
                              "mean + row and column biases shrunk by {:g} entries) | center | scale (biScale; not "
                              "GAME)",
                              d.bias_shrinkage))
      ->check(CLI::IsMember({"auto", "none", "biases", "center", "scale"}));
  cmd->add_flag("--scale", f->scale, "Soft-impute: centre and scale rows and columns first (= --centering scale)");
  cmd->add_flag("--center", f->center, "Soft-impute: centre rows and columns first (= --centering center)");
  cmd->add_flag("--debias", f->debias, "Soft-impute: re-fit the singular values without shrinkage");
  cmd->add_flag("--biases", f->biases, "ALS: learn global mean and row / column biases");
  cmd->add_option("--als-init", f->als_init,
                  "ALS: start from random factors (LIBMF's and Spark's start) or from the spectral estimate (top "
                  "singular vectors of the rescaled observations: fewer sweeps to the optimum)")
      ->check(CLI::IsMember({"random", "spectral"}))
      ->capture_default_str();
  cmd->add_option("--max-iter", f->max_iterations,
                  fmt::format("Iteration cap of each fit (default soft-impute {}, als {}, game {}; without it a "
                              "returned soft-impute / als fit that stops at the cap is resumed, up to {} caps)",
                              d.soft_impute.max_iterations, d.als.max_iterations, GamePathOptions{}.game.max_iterations,
                              d.max_iteration_rounds))
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tol", f->tolerance,
                  fmt::format("Relative objective change that stops a fit (default soft-impute {:g}, als {:g}, "
                              "game {:g})",
                              d.soft_impute.tolerance, d.als.tolerance, GamePathOptions{}.game.tolerance))
      ->check(CLI::PositiveNumber);
  cmd->add_option("--svd-method", f->svd_method,
                  "soft-impute-svd: auto (subspace iteration warm-started from the previous iterate) or a "
                  "fresh truncated SVD every iteration: lanczos|randomized|full")
      ->check(CLI::IsMember({"auto", "lanczos", "randomized", "full"}));
  add_input_flags(*cmd, f->input);
  cmd->add_flag(
      "--log1p", f->log1p,
      "Fit log(1 + x) (counts); the test RMSE is on that scale, predictions and completed.csv map back by expm1");
  cmd->add_flag("--clip", f->clip,
                "Clip predictions to the training range (e.g. 1..5 for ratings); saved in the model");
  cmd->add_flag("--float32", f->float32,
                "soft-impute / als: store the values and run the solver in single precision (about 2/3 of the "
                "memory; the same test RMSE to ~1e-5; training values are then used rounded to float)");
  cmd->add_option(
      "--out,-o", f->out,
      "Model directory: U.npy d.npy V.npy, offsets, id maps, model.json (+ cv.csv/json/svg, completed.csv)");
  add_game_flags(*cmd, f->game);
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Examples:\n"
      "  # cross-validated soft-impute on a dense CSV with missing cells; writes out/dune/completed.csv\n"
      "  lowrank complete --train data/ecology/dune.csv --holdout 0.2 --seed 0 --out out/dune\n"
      "  # MovieLens-100k, hard-rank ALS with biases, fixed split\n"
      "  lowrank complete --train u1.base --test u1.test --method als --rank 10 --lambda 0.1 --biases --json\n"
      "  # the same with the L2 weight chosen by 5-fold CV over the path\n"
      "  lowrank complete --train u1.base --test u1.test --method als --rank 10 --biases --cv 5\n"
      "  # GAME: one nuclear norm per age band, gender and occupation group (+ all rows), CV over lambda\n"
      "  lowrank complete --train u.data --holdout 0.2 --method game --groups u.user \\\n"
      "      --groups-names user,age,gender,occupation,zip --group-cols age,gender,occupation \\\n"
      "      --bins age=0,25,35,45,100 --subspaces out/ml-game/subspaces --out out/ml-game --json\n");
  cmd->callback([f] { run_complete(*f); });
}

void register_predict(CLI::App& app) {
  auto f = std::make_shared<PredictFlags>();
  auto* cmd = app.add_subcommand("predict", "Predict entries from a model written by `lowrank complete --out`");
  cmd->add_option("--model", f->model, "Model directory")->required();
  cmd->add_option("--pairs", f->pairs, "File of (row id, column id) pairs, one per line (extra fields ignored)")
      ->required();
  cmd->add_option("--out,-o", f->out, "Write 'row col prediction' lines here instead of stdout");
  cmd->add_flag("--clip", f->clip, "Clip predictions to the training range recorded in the model");
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Example:\n"
      "  lowrank predict --model out/dune --pairs pairs.tsv\n"
      "Pairs whose ids were not seen in training get the training row / column / global mean (a warning counts them).\n"
      "--json prints one JSON object: {model, pairs, unseen, out, predictions: [{row, col, prediction}, ...]}.\n");
  cmd->callback([f] { run_predict(*f); });
}

namespace {
struct RecommendFlags {
  std::string model;
  std::vector<std::string> users;
  Index top = kDefaultRecommendations;
  std::string seen;
  bool include_seen = false;
  bool clip = false;
  CommonFlags common;
};

void run_recommend(const RecommendFlags& f) {
  apply_common_flags(f.common);
  const LoadedModel loaded = load_model(f.model, f.clip);
  const io::SavedCompletionModel& saved = loaded.saved;
  // Seen items: the model's seen.tsv (written by complete --out), or --seen FILE.
  std::vector<std::vector<std::int32_t>> seen(static_cast<std::size_t>(saved.model.rows));
  if (!f.include_seen) {
    const std::string path = f.seen.empty() ? (fs::path(f.model) / "seen.tsv").string() : f.seen;
    if (!fs::exists(path))
      throw InputError(path,
                       "missing: the seen items to leave out (give --seen FILE of 'user item' lines, or "
                       "--include-seen)");
    io::TripletReadOptions topts;
    topts.value_column = -1;
    topts.duplicates = DuplicatePolicy::Last;
    const io::MappedTriplets t = io::read_triplets_mapped(path, saved.row_ids, saved.col_ids, topts);
    for (std::size_t k = 0; k < t.entries.nnz(); ++k)
      seen[static_cast<std::size_t>(t.entries.row[k])].push_back(t.entries.col[k]);
  }
  nlohmann::json all = nlohmann::json::array();
  std::string text;
  for (const std::string& user : f.users) {
    const auto row = saved.row_ids.find(user);
    if (!row)
      throw InputError(f.model, fmt::format("user '{}' is not a row of the model ({} rows, e.g. '{}')", user,
                                            saved.model.rows, saved.row_ids.name(0)));
    const auto recs = recommend(saved.model, *row, f.top, seen[static_cast<std::size_t>(*row)]);
    nlohmann::json items = nlohmann::json::array();
    for (std::size_t k = 0; k < recs.size(); ++k) {
      const double score = loaded.log1p ? std::expm1(recs[k].score) : recs[k].score;
      const std::string& item = saved.col_ids.name(recs[k].col);
      items.push_back({{"item", item}, {"score", score}});
      text += fmt::format("{}\t{}\t{}\t{:.6g}\n", user, k + 1, item, score);
    }
    all.push_back({{"user", user}, {"seen", seen[static_cast<std::size_t>(*row)].size()}, {"items", items}});
  }
  if (f.common.json) print_json({{"model", f.model}, {"top", f.top}, {"users", all}});
  else std::fputs(text.c_str(), stdout);
}
}  // namespace

void register_recommend(CLI::App& app) {
  auto f = std::make_shared<RecommendFlags>();
  auto* cmd = app.add_subcommand("recommend", "Top-K items per user from a model written by `lowrank complete --out`");
  cmd->add_option("--model", f->model, "Model directory")->required();
  cmd->add_option("--user", f->users, "Row (user) id; repeat for several users")->required();
  cmd->add_option("--top,-k", f->top, "Number of items per user")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option(
      "--seen", f->seen,
      "Triplet / pair file of items to leave out per user (default: the model's seen.tsv, its training entries)");
  cmd->add_flag("--include-seen", f->include_seen, "Rank already-seen items too");
  cmd->add_flag("--clip", f->clip, "Clip scores to the training range recorded in the model");
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Example:\n"
      "  lowrank complete --train u1.base --out out/ml\n"
      "  lowrank recommend --model out/ml --user 196 --top 5\n"
      "Prints 'user<TAB>rank<TAB>item<TAB>score' lines, best first, without the items the user rated in training.\n");
  cmd->callback([f] { run_recommend(*f); });
}

}  // namespace lowrank::cli
