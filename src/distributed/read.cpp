// Parallel reading of triplet files and shard directories (one slice per rank).
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "distributed/common.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/distributed/completion.hpp"
#include "lowrank/io/triplets.hpp"

namespace lowrank::distributed {

namespace dd = distributed::detail;
namespace fs = std::filesystem;

namespace {

// What a rank has read so far (its slice, or its shards).
struct Parsed {
  std::vector<std::int32_t> row, col;
  std::vector<double> value;
  long long max_row = -1, max_col = -1;

  void append(ObservedEntries<double>&& e) {
    max_row = std::max<long long>(max_row, e.rows - 1);
    max_col = std::max<long long>(max_col, e.cols - 1);
    if (value.empty()) {
      row = std::move(e.row);
      col = std::move(e.col);
      value = std::move(e.value);
      return;
    }
    row.insert(row.end(), e.row.begin(), e.row.end());
    col.insert(col.end(), e.col.begin(), e.col.end());
    value.insert(value.end(), e.value.begin(), e.value.end());
  }
};

// Rank p's slice of one file: the lines starting in [S p / P, S (p+1) / P),
// read and checked by io's triplet parser (errors name the file and line).
void read_slice(const dd::Comm& c, const std::string& path, Index rows, Index cols, Parsed& out) {
  const std::size_t size = fs::file_size(path);
  const std::size_t lo = size * static_cast<std::size_t>(c.rank) / static_cast<std::size_t>(c.size);
  const std::size_t hi = size * (static_cast<std::size_t>(c.rank) + 1) / static_cast<std::size_t>(c.size);
  out.append(io::read_triplet_range(path, lo, hi, rows, cols));
}

}  // namespace

ObservedEntries<double> read_entries(MPI_Comm comm, const std::string& path, const DistributedReadOptions& o) {
  const dd::Comm c(comm);
  Index rows = o.rows, cols = o.cols;
  Parsed parsed;
  std::string error;
  try {
    if (!fs::exists(path)) throw std::runtime_error(path + ": no such file or directory");
    if (fs::is_directory(path)) {
      // The shard list, the same on every rank.
      std::map<long long, std::string> shards;
      long long expected = -1;
      for (const auto& entry : fs::directory_iterator(path)) {
        const std::string name = entry.path().filename().string();
        if (name == "manifest") {
          std::ifstream in(entry.path());
          std::string key;
          long long value = 0;
          while (in >> key >> value) {
            if (key == "rows" && rows == 0) rows = static_cast<Index>(value);
            else if (key == "cols" && cols == 0) cols = static_cast<Index>(value);
            else if (key == "shards") expected = value;
          }
          continue;
        }
        if (name.rfind("part-", 0) != 0) continue;
        long long id = -1;
        const char* b = name.data() + 5;
        const auto r = std::from_chars(b, name.data() + name.size(), id);
        if (r.ec != std::errc() || r.ptr == b) continue;
        if (!shards.emplace(id, entry.path().string()).second) {
          throw std::runtime_error(path + ": shard " + std::to_string(id) + " appears twice (" + shards[id] + " and " +
                                   entry.path().string() + ")");
        }
      }
      if (shards.empty()) throw std::runtime_error(path + ": no shard files part-NNNNN");
      const long long count = expected >= 0 ? expected : shards.rbegin()->first + 1;
      for (long long s = 0; s < count; ++s) {
        if (!shards.count(s)) {
          char name[32];
          std::snprintf(name, sizeof name, "part-%05lld", s);
          throw std::runtime_error(path + ": shard " + name + " (" + std::to_string(s) + " of 0.." +
                                   std::to_string(count - 1) + ") is missing");
        }
      }
      if (shards.rbegin()->first >= count) {
        throw std::runtime_error(shards.rbegin()->second + ": shard number " + std::to_string(shards.rbegin()->first) +
                                 " beyond the manifest's " + std::to_string(count) + " shards");
      }
      for (const auto& [id, file] : shards) {
        if (id % c.size != c.rank) continue;
        parsed.append(io::read_triplet_range(file, 0, std::numeric_limits<std::size_t>::max(), rows, cols));
      }
    } else {
      read_slice(c, path, rows, cols, parsed);
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  dd::agree(c, error, true);
  long long mx[2] = {parsed.max_row, parsed.max_col}, all[2];
  MPI_Allreduce(mx, all, 2, MPI_LONG_LONG, MPI_MAX, c.comm);
  dd::agree(c, all[0] < 0 ? path + ": no observed entry" : std::string(), true);
  ObservedEntries<double> out;
  out.rows = rows > 0 ? rows : static_cast<Index>(all[0] + 1);
  out.cols = cols > 0 ? cols : static_cast<Index>(all[1] + 1);
  out.row = std::move(parsed.row);
  out.col = std::move(parsed.col);
  out.value = std::move(parsed.value);
  return out;
}

}  // namespace lowrank::distributed
