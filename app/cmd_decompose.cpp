// lowrank decompose: truncated SVD of a matrix file, U S V written as .npy.
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "cli_common.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/io.hpp"
#include "lowrank/linalg/residual.hpp"
#include "lowrank/linalg/svd.hpp"

namespace lowrank::cli {

namespace {
struct DecomposeFlags {
  std::string input;
  InputFlags input_flags;
  Index rank = 0;
  // Every SVD default lives in the library's options struct.
  TruncatedSvdOptions svd;
  std::string method = to_string(TruncatedSvdOptions{}.method);
  bool center = false;
  bool log1p = false;
  std::string out;
  CommonFlags common;
};

void check_log1p(double v, const std::string& path) {
  if (!(v > -1.0)) throw InputError(path, fmt::format("--log1p needs every value > -1, found {}", v));
}

void run_decompose(const DecomposeFlags& f) {
  apply_common_flags(f.common);
  const auto t0 = std::chrono::steady_clock::now();
  io::AnyMatrix in = read_input(f.input, f.input_flags);

  TruncatedSvdOptions sopts = f.svd;
  sopts.method = parse_svd_method(f.method);

  SvdResult<double> svd;
  double svd_seconds = 0, residual = 0;
  Index rows = 0, cols = 0;
  Vector<double> means;
  if (in.is_sparse()) {
    ObservedEntries<double> e = in.entries();
    if (f.log1p)
      for (double& v : e.value) {
        check_log1p(v, f.input);
        v = std::log1p(v);
      }
    rows = e.rows;
    cols = e.cols;
    SparseOperator<double> a(e.rows, e.cols, e.row, e.col, e.value);
    const auto t1 = std::chrono::steady_clock::now();
    if (f.center) {
      CenteredSparse<double> c = center_columns(a);
      SparsePlusLowRank<double> op(a, c.ones, c.minus_one, c.means_col);
      svd = truncated_svd(op, f.rank, sopts);
      svd_seconds = seconds_since(t1);
      residual = svd_relative_residual(op, svd, c.frobenius_sq);
      means = c.means;
    } else {
      svd = truncated_svd(a, f.rank, sopts);
      svd_seconds = seconds_since(t1);
      residual = svd_relative_residual(a, svd, frobenius_norm_squared(a));
    }
  } else {
    Matrix<double> a = in.dense().values;
    const Index missing = (a.array() != a.array()).count();
    if (missing > 0) {
      throw InputError(f.input, fmt::format("{} missing cells: decompose needs a fully observed matrix "
                                            "(use `lowrank complete` to fill them)",
                                            missing));
    }
    if (!a.allFinite()) throw InputError(f.input, "the matrix holds +-Inf values");
    if (f.log1p) {
      for (Index k = 0; k < a.size(); ++k) check_log1p(a.data()[k], f.input);
      a = a.array().log1p().matrix();
    }
    rows = a.rows();
    cols = a.cols();
    if (f.center) {
      means = a.colwise().mean().transpose();
      a.rowwise() -= means.transpose();
    }
    const auto t1 = std::chrono::steady_clock::now();
    DenseOperator<double> op(a);
    svd = truncated_svd(op, f.rank, sopts);
    svd_seconds = seconds_since(t1);
    residual = svd_relative_residual(op, svd, frobenius_norm_squared(op));
  }

  // "out/mite" writes into out/: create it, as `complete --out` creates its folder.
  if (const auto dir = std::filesystem::path(f.out).parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw InputError(dir.string(), "cannot create the output folder: " + ec.message());
  }
  io::write_npy(f.out + "_U.npy", svd.U);
  io::write_npy(f.out + "_S.npy", svd.S);
  io::write_npy(f.out + "_V.npy", svd.V);
  if (f.center) io::write_npy(f.out + "_means.npy", means);

  nlohmann::json j{{"input", f.input},
                   {"rows", rows},
                   {"cols", cols},
                   {"rank", f.rank},
                   {"method", to_string(svd.method_used)},
                   {"status", to_string(svd.status)},
                   {"iterations", svd.iterations},
                   {"centered", f.center},
                   {"log1p", f.log1p},
                   {"relative_residual", residual},
                   {"max_relative_error_bound", max_relative_error_bound(svd)},
                   {"tolerance", sopts.tolerance},
                   {"svd_seconds", svd_seconds},
                   {"seconds", seconds_since(t0)},
                   {"singular_values", std::vector<double>(svd.S.data(), svd.S.data() + svd.S.size())},
                   {"residuals",
                    std::vector<double>(svd.residuals.data(), svd.residuals.data() + svd.residuals.size())},
                   {"error_bounds",
                    std::vector<double>(svd.error_bounds.data(), svd.error_bounds.data() + svd.error_bounds.size())},
                   {"outputs", {f.out + "_U.npy", f.out + "_S.npy", f.out + "_V.npy"}}};
  if (svd.status != Status::Success) warn(fmt::format("SVD status: {}", to_string(svd.status)));
  if (f.common.json) {
    print_json(j);
    return;
  }
  fmt::print("{} x {}, rank {} by {} SVD in {:.3f} s (status {})\n", rows, cols, f.rank, to_string(svd.method_used),
             svd_seconds, to_string(svd.status));
  fmt::print("singular values:");
  for (Index i = 0; i < svd.S.size(); ++i) fmt::print(" {:.6g}", svd.S(i));
  fmt::print("\nrelative residual ||A - U S V^T||_F / ||A||_F = {:.6g}\n", residual);
  fmt::print("a posteriori bound max_i |s_i - sigma_i| / s_i <= {:.3g} (tolerance {:.3g})\n",
             max_relative_error_bound(svd), sopts.tolerance);
  fmt::print("wrote {0}_U.npy {0}_S.npy {0}_V.npy{1}\n", f.out, f.center ? fmt::format(" {}_means.npy", f.out) : "");
}
}  // namespace

void register_decompose(CLI::App& app) {
  auto f = std::make_shared<DecomposeFlags>();
  auto* cmd = app.add_subcommand("decompose", "Truncated SVD of a matrix file; writes U, S, V as .npy");
  cmd->add_option("--input,-i", f->input, "Matrix file (any format `lowrank info` reads); sparse files stay sparse")
      ->required();
  cmd->add_option("--rank,-k", f->rank, "Number of singular triplets, 1 <= k <= min(rows, cols)")->required();
  cmd->add_option("--method", f->method,
                  "auto (exact LAPACK SVD when cheapest, else krylov for dense and lanczos for sparse input)"
                  "|full|krylov|lanczos|randomized (fixed passes, accuracy not guaranteed)")
      ->check(CLI::IsMember({"auto", "full", "krylov", "lanczos", "randomized"}))
      ->capture_default_str();
  cmd->add_option("--tol", f->svd.tolerance,
                  "Target relative accuracy of the singular values (krylov, lanczos; auto's choice)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-iterations", f->svd.max_iterations, "Krylov block steps / Lanczos restarts at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--krylov-dim", f->svd.krylov_dim, "Largest Krylov basis before a restart (0 = automatic)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--center", f->center, "Subtract column means first (kept implicit for sparse input)");
  cmd->add_flag("--log1p", f->log1p, "Transform values by log(1 + x) first (counts)");
  cmd->add_option("--out,-o", f->out, "Output prefix: PREFIX_U.npy, PREFIX_S.npy, PREFIX_V.npy (its folder is created)")
      ->required();
  add_input_flags(*cmd, f->input_flags);
  cmd->add_option("--oversampling", f->svd.oversampling,
                  "Randomized: extra sketch columns; krylov: block size is rank + oversampling")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--power-iterations", f->svd.power_iterations, "Randomized: power iterations (-1 = auto)")
      ->capture_default_str();
  cmd->add_option("--seed", f->svd.seed, "Random seed (start blocks, sketches, start vectors)")
      ->check(seed_validator())
      ->capture_default_str();
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Example:\n"
      "  lowrank decompose --input data/ecology/mite.csv --rank 5 --center --log1p --out out/mite\n"
      "  -> out/mite_U.npy (70 x 5), out/mite_S.npy (5), out/mite_V.npy (35 x 5), out/mite_means.npy\n");
  cmd->callback([f] { run_decompose(*f); });
}

}  // namespace lowrank::cli
