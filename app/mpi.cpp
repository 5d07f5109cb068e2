// `mpirun -np P lowrank complete|decompose ...`: the distributed solvers
// (include/lowrank/distributed/completion.hpp) behind the same subcommand
// names. Built only with LOWRANK_MPI; main() comes here when the program was
// started by an MPI launcher. Flags -> options -> one library call -> rank 0
// writes the output once.
#ifdef LOWRANK_HAVE_MPI
#include <fmt/core.h>
#include <mpi.h>

#include <cstdlib>
#include <filesystem>

#include "cli_common.hpp"
#include "lowrank/completion/fit.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/version.hpp"
#include "lowrank/distributed/completion.hpp"
#include "lowrank/io.hpp"
#include "lowrank/io/completion_model.hpp"

namespace lowrank::cli {

namespace {

struct MpiCompleteFlags {
  std::string train;
  std::string method = to_string(CompletionFitOptions{}.method);  // the serial CLI's default
  std::optional<double> lambda;
  std::optional<Index> rank;
  bool biases = false;
  int max_iterations = 0;
  double tolerance = 0;
  std::uint64_t seed = 0;
  Index rows = 0, cols = 0;
  std::string checkpoint;
  bool resume = false;
  std::string out;
  int threads = 0;
  bool quiet = false;
};

struct MpiDecomposeFlags {
  std::string input;
  Index rank = 0;
  TruncatedSvdOptions svd;
  Index rows = 0, cols = 0;
  std::string out;
};

int mpi_world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int mpi_world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

ProgressCallback rank0_progress(bool quiet) {
  if (quiet || mpi_world_rank() != 0) return {};
  return [](const ProgressEvent& e) {
    fmt::print(stderr, "{} iteration {} objective {:.10g} change {:.3g} ({:.1f} s)\n", e.stage, e.iteration,
               e.objective, e.change, e.elapsed_s);
  };
}

void mpi_complete(const MpiCompleteFlags& f) {
  const double t0 = MPI_Wtime();
  const ObservedEntries<double> local =
      distributed::read_entries(MPI_COMM_WORLD, f.train, distributed::DistributedReadOptions{f.rows, f.cols});
  const double t_read = MPI_Wtime() - t0;
  const distributed::CheckpointOptions ck{f.checkpoint, f.resume};
  CompletionResult<double> r;
  // The flags both solvers share; 0 keeps the library's default.
  const auto set_loop = [&](auto& o) {
    if (f.max_iterations > 0) o.max_iterations = f.max_iterations;
    if (f.tolerance > 0) o.tolerance = f.tolerance;
    o.seed = f.seed;
    o.threads = f.threads;
    o.progress = rank0_progress(f.quiet);
  };
  if (f.method == "soft-impute") {
    if (!f.lambda) throw InvalidArgument("under mpirun, soft-impute needs --lambda (no lambda path or CV yet)");
    SoftImputeOptions o;
    o.lambda = *f.lambda;
    if (f.rank) o.max_rank = *f.rank;
    set_loop(o);
    r = distributed::soft_impute(MPI_COMM_WORLD, local, o, ck);
  } else {
    AlsOptions o;
    if (f.lambda) o.lambda = *f.lambda;
    if (f.rank) o.rank = *f.rank;
    o.biases = f.biases;
    set_loop(o);
    r = distributed::als(MPI_COMM_WORLD, local, o, ck);
  }
  const double elapsed = MPI_Wtime() - t0;
  long long nnz_local = static_cast<long long>(local.nnz()), nnz = 0;
  MPI_Reduce(&nnz_local, &nnz, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (mpi_world_rank() != 0) return;
  nlohmann::json j{{"method", f.method},
                   {"ranks", mpi_world_size()},
                   {"rows", r.model.rows},
                   {"cols", r.model.cols},
                   {"entries", nnz},
                   {"lambda", r.lambda},
                   {"rank", r.model.rank()},
                   {"iterations", r.iterations},
                   {"status", to_string(r.status)},
                   {"objective", r.objective_trace.empty() ? 0.0 : r.objective_trace.back()},
                   {"read_seconds", t_read},
                   {"seconds", elapsed},
                   {"warnings", r.warnings}};
  if (!f.out.empty()) {
    nlohmann::json meta{{"method", f.method},
                        {"lambda", r.lambda},
                        {"mpi_ranks", mpi_world_size()},
                        {"iterations", r.iterations},
                        {"status", to_string(r.status)}};
    io::save_completion_model(f.out, r.model, IdMap::identity(static_cast<std::size_t>(r.model.rows)),
                              IdMap::identity(static_cast<std::size_t>(r.model.cols)), meta);
    j["out"] = f.out;
  }
  fmt::print("{}\n", j.dump(2));
}

void mpi_decompose(const MpiDecomposeFlags& f) {
  const ObservedEntries<double> local =
      distributed::read_entries(MPI_COMM_WORLD, f.input, distributed::DistributedReadOptions{f.rows, f.cols});
  const SvdResult<double> r = distributed::randomized_svd(MPI_COMM_WORLD, local, f.rank, f.svd);
  if (mpi_world_rank() != 0) return;
  const std::filesystem::path parent = std::filesystem::path(f.out).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  io::write_npy(f.out + "_U.npy", r.U);
  io::write_npy(f.out + "_S.npy", r.S);
  io::write_npy(f.out + "_V.npy", r.V);
  nlohmann::json j{{"ranks", mpi_world_size()},
                   {"rows", r.U.rows()},
                   {"cols", r.V.rows()},
                   {"method", "randomized-tsqr"},
                   {"singular_values", std::vector<double>(r.S.data(), r.S.data() + r.S.size())},
                   {"out", f.out}};
  fmt::print("{}\n", j.dump(2));
}

int mpi_run(int argc, char** argv) {
  CLI::App app{
      "lowrank under mpirun: distributed matrix completion and randomized SVD.\n"
      "Each rank reads its slice of a triplet file (0-based integer ids) or its shards of a directory\n"
      "part-00000, part-00001, ...; rank 0 writes the output. Exit codes: 0 success, 1 internal error,\n"
      "2 usage or input error.",
      "lowrank"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lowrank ") + lowrank::kVersion);
  MpiCompleteFlags c;
  auto* complete = app.add_subcommand("complete", "Distributed soft-impute (ALS form) or hard-rank ALS");
  complete->add_option("--train", c.train, "Triplet file or directory of shards (row col value, 0-based ids)")
      ->required();
  complete->add_option("--method", c.method, "soft-impute | als")
      ->check(CLI::IsMember({"soft-impute", "als"}))
      ->capture_default_str();
  complete->add_option("--lambda", c.lambda, "soft-impute: nuclear-norm weight (required); als: L2 weight");
  complete->add_option("--rank", c.rank, "soft-impute: rank cap; als: number of factors");
  complete->add_flag("--biases", c.biases, "als: learn global mean and row / column biases");
  complete->add_option("--max-iter", c.max_iterations, "Iteration cap (0 = the solver's default)");
  complete->add_option("--tol", c.tolerance, "Relative objective change to stop at (0 = the solver's default)");
  complete->add_option("--seed", c.seed, "Seed of the random start")->check(seed_validator());
  complete->add_option("--rows", c.rows, "Number of rows (default: largest row id + 1, or the shards' manifest)");
  complete->add_option("--cols", c.cols, "Number of columns (likewise)");
  complete->add_option("--checkpoint", c.checkpoint, "Factor checkpoint written by rank 0 after every iteration");
  complete->add_flag("--resume", c.resume, "Continue from --checkpoint when it exists");
  complete->add_option("--out,-o", c.out, "Model directory (as `lowrank complete --out`), written by rank 0");
  complete->add_option("--threads", c.threads, "OpenMP threads per rank (0 = default)");
  complete->add_flag("--quiet,-q", c.quiet, "No progress on stderr");
  complete->callback([&c] { mpi_complete(c); });
  MpiDecomposeFlags d;
  auto* decompose = app.add_subcommand("decompose", "Distributed randomized SVD with TSQR");
  decompose->add_option("--input,-i", d.input, "Triplet file or directory of shards")->required();
  decompose->add_option("--rank,-k", d.rank, "Number of singular triplets")->required();
  decompose->add_option("--oversampling", d.svd.oversampling, "Extra sketch columns")->capture_default_str();
  decompose->add_option("--power-iterations", d.svd.power_iterations, "Power iterations (-1 = 4)")
      ->capture_default_str();
  decompose->add_option("--seed", d.svd.seed, "Seed of the sketch")->check(seed_validator());
  decompose->add_option("--rows", d.rows, "Number of rows (default: largest row id + 1)");
  decompose->add_option("--cols", d.cols, "Number of columns");
  decompose->add_option("--out,-o", d.out, "Output prefix: PREFIX_U.npy, PREFIX_S.npy, PREFIX_V.npy")->required();
  decompose->callback([&d] { mpi_decompose(d); });
  install_interrupt_handler();
  const bool speaker = mpi_world_rank() == 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (speaker) return app.exit(e) == 0 ? kSuccess : kUsageError;
    return e.get_exit_code() == 0 ? kSuccess : kUsageError;
  } catch (const InputError& e) {
    if (speaker) std::fprintf(stderr, "lowrank: error: %s\n", e.what());
    return kUsageError;
  } catch (const InvalidArgument& e) {
    if (speaker) std::fprintf(stderr, "lowrank: error: %s\n", e.what());
    return kUsageError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowrank: internal error (rank %d): %s\n", mpi_world_rank(), e.what());
    MPI_Abort(MPI_COMM_WORLD, kInternalError);
  }
  return kSuccess;
}

}  // namespace

bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
         std::getenv("PMIX_RANK") != nullptr;
}

int run_mpi(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const int rc = mpi_run(argc, argv);
  MPI_Finalize();
  return rc;
}

}  // namespace lowrank::cli
#endif
