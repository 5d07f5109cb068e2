// lowrank info FILE: shape, nnz, density, dtype, value range, missing count.
#include <fmt/core.h>

#include "cli_common.hpp"
#include "lowrank/io.hpp"

namespace lowrank::cli {

namespace {
struct InfoFlags {
  std::string path;
  InputFlags input;
  CommonFlags common;
};

void run_info(const InfoFlags& f) {
  apply_common_flags(f.common);
  const io::AnyMatrix m = read_input(f.path, f.input);
  const io::MatrixInfo info = io::describe(m);
  if (f.common.json) {
    nlohmann::json j = io::to_json(info);
    j["file"] = f.path;
    if (!m.array_name.empty()) j["array"] = m.array_name;
    if (!m.arrays.empty()) j["arrays"] = m.arrays;
    if (!info.sparse && (info.format == io::FileFormat::DenseCsv)) {
      j["header"] = m.header;
      j["row_names"] = m.row_names;
    } else if (info.format == io::FileFormat::Triplets) {
      j["header"] = m.header;
    }
    j["notes"] = m.notes;
    print_json(j);
    return;
  }
  fmt::print("file      {}\n", f.path);
  fmt::print("format    {}{}\n", io::to_string(info.format),
             m.array_name.empty() ? "" : fmt::format(" (array '{}' of {})", m.array_name, m.arrays.size()));
  fmt::print("dtype     {}\n", info.dtype);
  if (info.format == io::FileFormat::DenseCsv)
    fmt::print("layout    {}, {}\n", m.header ? "header line" : "no header",
               m.row_names ? "row names" : "no row names");
  fmt::print("shape     {} x {} ({})\n", info.rows, info.cols, info.sparse ? "sparse entries" : "dense");
  fmt::print("observed  {} cells, density {:.4g}\n", info.nnz, info.density);
  fmt::print("missing   {}\n", info.missing);
  if (info.nonfinite > 0) fmt::print("non-finite {}\n", info.nonfinite);
  if (info.nnz > 0) fmt::print("range     [{:.6g}, {:.6g}]\n", info.min, info.max);
}
}  // namespace

void register_info(CLI::App& app) {
  auto f = std::make_shared<InfoFlags>();
  auto* cmd =
      app.add_subcommand("info", "Describe a matrix file: shape, nnz, density, dtype, value range, missing cells");
  cmd->add_option("file", f->path,
                  "Matrix file: triplets (.tsv/.data/.dat/.txt), dense .csv, .mtx, .npy, .npz, .safetensors")
      ->required();
  add_input_flags(*cmd, f->input);
  add_common_flags(*cmd, f->common);
  cmd->footer(
      "Examples:\n"
      "  lowrank info data/ecology/mite.csv\n"
      "  lowrank info ../shared/data/movielens-100k/u.data --json\n");
  cmd->callback([f] { run_info(*f); });
}

}  // namespace lowrank::cli
