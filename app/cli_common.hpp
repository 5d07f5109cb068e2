#pragma once
// Shared plumbing of the lowrank CLI: exit codes, --json output, progress on
// stderr and Ctrl-C. The CLI holds no numerics: every subcommand parses flags
// into a library options struct, calls the library, and prints the result.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "lowrank/core/progress.hpp"
#include "lowrank/io/any.hpp"

namespace lowrank::cli {

/// Exit codes, documented in `lowrank --help`.
enum ExitCode : int { kSuccess = 0, kInternalError = 1, kUsageError = 2 };

/// Flags every subcommand shares.
struct CommonFlags {
  bool json = false;   ///< one JSON object on stdout instead of the human report
  bool quiet = false;  ///< no progress on stderr
  int threads = 0;     ///< OpenMP threads; 0 = library default
};

/// Adds --json, --quiet and --threads to `cmd`.
void add_common_flags(CLI::App& cmd, CommonFlags& flags);
/// Adds --duplicates error|mean|last|sum (what to do with a repeated (row, col)
/// entry in triplet or Matrix Market input) storing the choice in `policy`;
/// parse it with lowrank::parse_duplicate_policy.
void add_duplicates_option(CLI::App& cmd, std::string& policy);
/// How to read an input matrix file: the flags every command that reads one
/// shares, mapped onto io::ReadAnyOptions (the same fields Python's
/// lowrank.read_matrix takes as keywords).
struct InputFlags {
  std::string format;             ///< "" = detect; triplets|dense|csv|mtx|matrix-market|npy|npz|safetensors
  std::optional<bool> header;     ///< --header / --no-header; unset = detect
  std::optional<bool> row_names;  ///< --row-names / --no-row-names; unset = detect
  std::string array;              ///< --array (npz / safetensors)
  std::string duplicates = to_string(io::TripletReadOptions{}.duplicates);  ///< --duplicates
};
/// Adds --format, --header/--no-header, --row-names/--no-row-names, --array
/// and --duplicates to `cmd`.
void add_input_flags(CLI::App& cmd, InputFlags& flags);
io::ReadAnyOptions read_options(const InputFlags& flags);
/// Reads `path` with the flags and prints every guess detection made as a
/// warning on stderr (docs/errors.md, "How input files are read").
io::AnyMatrix read_input(const std::string& path, const InputFlags& flags);

/// Applies --threads, capped (with a warning) at the cores present and at
/// what a finite address-space limit (ulimit -v) leaves room for.
void apply_common_flags(const CommonFlags& flags);
/// The thread count apply_common_flags uses for a request of `requested`
/// (> 0) on `cores` cores under an address-space limit of `as_limit` bytes
/// (0 = unlimited); `why` says what capped it, empty when nothing did.
int capped_threads(int requested, int cores, std::uint64_t as_limit, std::string& why);

/// Rejects a --seed that is not a whole number in [0, 2^64 - 1] ("-1", "1e23"
/// and "18446744073709551616" would otherwise be wrapped or clamped).
CLI::Validator seed_validator();

/// A progress callback that prints "stage it=.. obj=.. change=.. rank=.. t=..s"
/// to stderr at most every `min_interval_s` seconds (always the first and
/// last call), or nothing when quiet.
ProgressCallback stderr_progress(const CommonFlags& flags, double min_interval_s = 0.5);

/// Installs a SIGINT handler that asks the library to stop and return what it
/// has computed; a second Ctrl-C terminates at once.
void install_interrupt_handler();

/// Prints `j` to stdout, pretty and followed by a newline; an object gains
/// "version" (lowrank::kVersion, the lowrank that produced it).
void print_json(const nlohmann::json& j);

/// Prints a warning line to stderr ("lowrank: warning: ...").
void warn(const std::string& message);

/// Registration hooks, one per subcommand file.
void register_info(CLI::App& app);
void register_decompose(CLI::App& app);
void register_complete(CLI::App& app);
void register_predict(CLI::App& app);
void register_bandit(CLI::App& app);
void register_mdp(CLI::App& app);
void register_train(CLI::App& app);
void register_sample(CLI::App& app);
void register_inspect(CLI::App& app);
void register_nfa(CLI::App& app);
void register_logit_rank(CLI::App& app);
void register_lingen(CLI::App& app);
void register_recommend(CLI::App& app);

}  // namespace lowrank::cli
