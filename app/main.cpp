// lowrank command-line interface: a thin front-end over the library.
#include <cstdio>
#include <exception>
#include <new>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cli_common.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/version.hpp"

#ifdef LOWRANK_HAVE_MPI
namespace lowrank::cli {
bool launched_by_mpi();              // app/mpi.cpp
int run_mpi(int argc, char** argv);  // the distributed complete / decompose
}  // namespace lowrank::cli
#endif

int main(int argc, char** argv) {
  using namespace lowrank::cli;
#if defined(__GLIBC__)
  // Blocks of 1 MiB and more (factor blocks, chunk copies, the reader's
  // arrays) are mapped and given back to the kernel when freed. glibc's
  // default raises its mmap threshold to the largest block freed (up to
  // 32 MiB), after which freed factor blocks stay in the heap and count in
  // the peak beside the next ones: 25.9 -> 23.3 bytes per entry for ALS in
  // float32 at 10^7 entries (issue 32; docs/benchmarks.md). `train` sets its
  // own thresholds (src/nn/train.cpp).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
#ifdef LOWRANK_HAVE_MPI
  if (launched_by_mpi()) return run_mpi(argc, argv);
#endif
  CLI::App app{
      "lowrank: find, estimate and exploit low-rank structure.\n"
      "Exit codes: 0 success, 1 internal error, 2 usage or input error.",
      "lowrank"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lowrank ") + lowrank::kVersion);
  register_info(app);
  register_decompose(app);
  register_complete(app);
  register_predict(app);
  register_recommend(app);
  register_bandit(app);
  register_mdp(app);
  register_train(app);
  register_sample(app);
  register_inspect(app);
  register_nfa(app);
  register_logit_rank(app);
  register_lingen(app);
  install_interrupt_handler();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and the usage line to stderr
    return kUsageError;
  } catch (const lowrank::InputError& e) {
    std::fprintf(stderr, "lowrank: error: %s\n", e.what());
    return kUsageError;
  } catch (const lowrank::InvalidArgument& e) {
    std::fprintf(stderr, "lowrank: error: %s\n", e.what());
    return kUsageError;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "lowrank: error: out of memory\n");
    return kInternalError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowrank: internal error: %s\n", e.what());
    return kInternalError;
  }
  return kSuccess;
}
