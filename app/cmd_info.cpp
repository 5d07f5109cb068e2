// lowrank info FILE: shape, nnz, density, dtype, value range, missing count.
#include <fmt/core.h>

#include "cli_common.hpp"
#include "lowrank/io.hpp"

namespace lowrank::cli {

namespace {
struct InfoFlags {
  std::string path;
  std::string array;
  std::string duplicates = "error";
  CommonFlags common;
};

void run_info(const InfoFlags& f) {
  apply_common_flags(f.common);
  io::ReadAnyOptions opts;
  opts.array_name = f.array;
  opts.triplets.duplicates = parse_duplicate_policy(f.duplicates);
  opts.mm_duplicates = opts.triplets.duplicates;
  const io::AnyMatrix m = io::read_matrix_any(f.path, opts);
  const io::MatrixInfo info = io::describe(m);
  if (f.common.json) {
    nlohmann::json j = io::to_json(info);
    j["file"] = f.path;
    if (!m.array_name.empty()) j["array"] = m.array_name;
    if (!m.arrays.empty()) j["arrays"] = m.arrays;
    print_json(j);
    return;
  }
  fmt::print("file      {}\n", f.path);
  fmt::print("format    {}{}\n", io::to_string(info.format),
             m.array_name.empty() ? "" : fmt::format(" (array '{}' of {})", m.array_name, m.arrays.size()));
  fmt::print("dtype     {}\n", info.dtype);
  fmt::print("shape     {} x {} ({})\n", info.rows, info.cols, info.sparse ? "sparse entries" : "dense");
  fmt::print("observed  {} cells, density {:.4g}\n", info.nnz, info.density);
  fmt::print("missing   {}\n", info.missing);
  if (info.nonfinite > 0) fmt::print("non-finite {}\n", info.nonfinite);
  if (info.nnz > 0) fmt::print("range     [{:.6g}, {:.6g}]\n", info.min, info.max);
}
}  // namespace

void register_info(CLI::App& app) {
  auto f = std::make_shared<InfoFlags>();
  auto* cmd = app.add_subcommand("info", "Describe a matrix file: shape, nnz, density, dtype, value range, missing cells");
  cmd->add_option("file", f->path, "Matrix file: triplets (.tsv/.data/.dat/.txt), dense .csv, .mtx, .npy, .npz, .safetensors")
      ->required();
  cmd->add_option("--array", f->array, "Array to read from an .npz or .safetensors file (default: the first)");
  add_duplicates_option(*cmd, f->duplicates);
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Examples:\n"
      "  lowrank info data/ecology/mite.csv\n"
      "  lowrank info ../shared/data/movielens-100k/u.data --json\n");
  cmd->callback([f] { run_info(*f); });
}

}  // namespace lowrank::cli
