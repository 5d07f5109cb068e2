#include "distributed/common.hpp"

#include <algorithm>
#include <climits>
#include <numeric>

#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"

namespace lowrank::distributed::detail {

Comm::Comm(MPI_Comm c) : comm(c) {
  MPI_Comm_rank(c, &rank);
  MPI_Comm_size(c, &size);
}

void agree(const Comm& c, const std::string& error, bool input_error) {
  (void)input_error;
  const int mine = error.empty() ? c.size : c.rank;
  int first = c.size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, c.comm);
  if (first == c.size) return;
  int head[2] = {static_cast<int>(error.size()), input_error ? 1 : 0};
  MPI_Bcast(head, 2, MPI_INT, first, c.comm);
  std::string msg = c.rank == first ? error : std::string(static_cast<std::size_t>(head[0]), ' ');
  MPI_Bcast(msg.data(), head[0], MPI_CHAR, first, c.comm);
  // The message already names its source (file and line, or the rank and
  // entry); both kinds are bad input to the caller (the CLI's exit 2).
  throw InvalidArgument(msg);
}

std::vector<Index> block_bounds(Index count, int parts) {
  std::vector<Index> b(static_cast<std::size_t>(parts) + 1);
  for (int p = 0; p <= parts; ++p) b[static_cast<std::size_t>(p)] = count * p / parts;
  return b;
}

namespace {
int owner(const std::vector<Index>& bounds, Index i) {
  return static_cast<int>(std::upper_bound(bounds.begin(), bounds.end(), i) - bounds.begin()) - 1;
}
}  // namespace

Block to_block(const Comm& c, const std::vector<std::int32_t>& key, const std::vector<std::int32_t>& other,
               const std::vector<double>& value, const std::vector<Index>& bounds, bool transposed,
               const std::vector<Index>& key_old, const std::vector<Index>& other_old) {
  const std::size_t nnz = value.size();
  std::string error;
  if (nnz > static_cast<std::size_t>(INT_MAX)) error = "more than 2^31 - 1 entries on one rank";
  agree(c, error);
  std::vector<int> send(static_cast<std::size_t>(c.size), 0), recv(send.size());
  std::vector<int> dest(nnz);
  for (std::size_t s = 0; s < nnz; ++s) {
    dest[s] = owner(bounds, key[s]);
    ++send[static_cast<std::size_t>(dest[s])];
  }
  MPI_Alltoall(send.data(), 1, MPI_INT, recv.data(), 1, MPI_INT, c.comm);
  std::vector<int> sdis(send.size(), 0), rdis(send.size(), 0);
  std::int64_t total = 0;
  for (std::size_t p = 0; p < send.size(); ++p) {
    if (p > 0) {
      sdis[p] = sdis[p - 1] + send[p - 1];
      rdis[p] = static_cast<int>(std::min<std::int64_t>(total, INT_MAX));
    }
    total += recv[p];
  }
  agree(c, total > INT_MAX ? std::string("more than 2^31 - 1 entries in one block; use more ranks") : std::string());
  // Counting sort by destination.
  std::vector<std::int32_t> sk(nnz), so(nnz);
  std::vector<double> sv(nnz);
  {
    std::vector<int> at = sdis;
    for (std::size_t s = 0; s < nnz; ++s) {
      const auto t = static_cast<std::size_t>(at[static_cast<std::size_t>(dest[s])]++);
      sk[t] = key[s];
      so[t] = other[s];
      sv[t] = value[s];
    }
  }
  const auto n = static_cast<std::size_t>(total);
  std::vector<std::int32_t> rk(n), ro(n);
  std::vector<double> rv(n);
  MPI_Alltoallv(sk.data(), send.data(), sdis.data(), MPI_INT32_T, rk.data(), recv.data(), rdis.data(), MPI_INT32_T,
                c.comm);
  MPI_Alltoallv(so.data(), send.data(), sdis.data(), MPI_INT32_T, ro.data(), recv.data(), rdis.data(), MPI_INT32_T,
                c.comm);
  MPI_Alltoallv(sv.data(), send.data(), sdis.data(), MPI_DOUBLE, rv.data(), recv.data(), rdis.data(), MPI_DOUBLE,
                c.comm);

  Block b;
  b.first = bounds[static_cast<std::size_t>(c.rank)];
  b.count = bounds[static_cast<std::size_t>(c.rank) + 1] - b.first;
  b.outer.assign(static_cast<std::size_t>(b.count) + 1, 0);
  for (std::size_t s = 0; s < n; ++s) ++b.outer[static_cast<std::size_t>(rk[s] - b.first) + 1];
  std::partial_sum(b.outer.begin(), b.outer.end(), b.outer.begin());
  b.inner.resize(n);
  b.value.resize(n);
  std::vector<std::int64_t> at(b.outer.begin(), b.outer.end() - 1);
  for (std::size_t s = 0; s < n; ++s) {
    const auto t = static_cast<std::size_t>(at[static_cast<std::size_t>(rk[s] - b.first)]++);
    b.inner[t] = ro[s];
    b.value[t] = rv[s];
  }
  // Sort each row by its inner index (value ties cannot matter: a tie is a
  // duplicate, which is refused), so the block does not depend on the order
  // in which the entries arrived.
  std::vector<std::pair<std::int32_t, double>> row;
  for (Index i = 0; i < b.count && error.empty(); ++i) {
    const auto lo = static_cast<std::size_t>(b.outer[static_cast<std::size_t>(i)]);
    const auto hi = static_cast<std::size_t>(b.outer[static_cast<std::size_t>(i) + 1]);
    row.clear();
    for (std::size_t s = lo; s < hi; ++s) row.emplace_back(b.inner[s], b.value[s]);
    std::sort(row.begin(), row.end(), [](const auto& a, const auto& z) { return a.first < z.first; });
    for (std::size_t s = lo; s < hi; ++s) {
      b.inner[s] = row[s - lo].first;
      b.value[s] = row[s - lo].second;
      if (s > lo && b.inner[s] == b.inner[s - 1]) {
        Index gi = b.first + i;
        Index gj = b.inner[s];
        if (!key_old.empty()) gi = key_old[static_cast<std::size_t>(gi)];
        if (!other_old.empty()) gj = other_old[static_cast<std::size_t>(gj)];
        error = "duplicate entry at (" + std::to_string(transposed ? gj : gi) + ", " +
                std::to_string(transposed ? gi : gj) + ")";
        break;
      }
    }
  }
  agree(c, error);
  return b;
}

void gather_blocks(const Comm& c, const double* local, double* all, const std::vector<Index>& bounds, Index width) {
  std::vector<int> counts(static_cast<std::size_t>(c.size)), displs(counts.size());
  for (std::size_t p = 0; p < counts.size(); ++p) {
    counts[p] = static_cast<int>((bounds[p + 1] - bounds[p]) * width);
    displs[p] = static_cast<int>(bounds[p] * width);
  }
  MPI_Allgatherv(local, counts[static_cast<std::size_t>(c.rank)], MPI_DOUBLE, all, counts.data(), displs.data(),
                 MPI_DOUBLE, c.comm);
}

double ordered_sum(const Comm& c, const std::vector<double>& local, const std::vector<Index>& bounds) {
  std::vector<double> all(static_cast<std::size_t>(bounds.back()));
  gather_blocks(c, local.data(), all.data(), bounds, 1);
  double s = 0.0;
  for (const double v : all) s += v;
  return s;
}

bool any_interrupt(const Comm& c) {
  const int mine = interrupt_requested() ? 1 : 0;
  int any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, c.comm);
  return any != 0;
}

}  // namespace lowrank::distributed::detail
