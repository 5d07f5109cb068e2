#pragma once
// Logit-matrix rank of a language model and linear generation (LINGEN), after
// Golowich, Liu, Shetty, "Sequences of Logits Reveal the Low Rank Structure of
// Language Models" (ICLR 2026).
//
// Extended logit matrix. Rows are histories h_1..h_n (token sequences);
// columns are pairs (g, z) of a future prefix g and a next token z. The
// future prefixes are the empty sequence and every prefix f_j[0..t), t = 1..L,
// of the futures f_1..f_m (all of length L), so a history contributes
// 1 + m L "blocks" of logits. The entry is the model's logit of z after the
// concatenation h.g minus its mean over the whole vocabulary:
//     M[h, (g, z)] = logit_z(h.g) - (1/V) sum_y logit_y(h.g).
// In each block only k tokens are kept (top_k, default 50, or all V when
// V <= k): the k with the largest softmax probability averaged over the
// histories, so every row keeps the same columns.
//
// Rank. Singular values of M (gesdd), a power-law fit sigma_i ~ C i^(-alpha)
// on a stated index range (alpha > 1/2 means a rank independent of the matrix
// size gives a fixed relative error; the paper reports alpha ~ 0.536 for
// OLMo-7B and ~ 0.374 untrained), and for each rank r of a list the relative
// Frobenius error ||M - M_r|| / ||M|| of the truncated SVD M_r and the mean
// KL(softmax(M block) || softmax(M_r block)) over all (history, block) pairs,
// the softmax taken over the block's k kept tokens.
//
// LINGEN. The target history's row m_* is regressed on the other histories'
// rows A (n x cols): c = argmin ||m_* - A^T c||^2 + ridge ||c||^2 (minimum
// norm solution when ridge = 0). Generation then never runs the target: at
// step t, with g the tokens generated so far, the next token is sampled from
// softmax(sum_j c_j l_j(g)), l_j(g) the mean-centred logits of h_j.g over the
// whole vocabulary. Reported per step: KL(p(.|h_*.g) || LINGEN) against the
// true model's next-token distribution, and the same KL for a baseline that
// ignores the target (c_j = 1/n, the average of the other histories), both
// evaluated along the LINGEN trajectory.
//
// Forward passes. Each history is run once through nn::Gpt::decode, which
// keeps its keys and values in a cache, and all futures are then evaluated in
// one batched pass on top of it (Gpt::decode_branches), instead of re-running
// the history for every future. build_logit_matrix can also take the naive
// route (one full Gpt::forward of h.f per pair) as the reference the cached
// path is tested against.
#include <cstdint>
#include <string>
#include <vector>

#include "lowrank/core/error.hpp"
#include "lowrank/core/progress.hpp"
#include "lowrank/diagnostics/spectrum.hpp"
#include "lowrank/nn/model.hpp"

namespace lowrank::diagnostics {

using Tokens = std::vector<std::int32_t>;

struct LogitMatrixOptions {
  /// Tokens kept per block; 0 or >= vocab keeps all.
  Index top_k = 50;
  /// Reference path: one full Gpt::forward of h.f for every (history, future)
  /// pair instead of the cached, batched one.
  bool naive = false;
  /// Entry normalisation per (history, prefix) block over the whole vocabulary:
  /// false = mean-centred logits, logit_z - (1/V) sum_y logit_y (ours, the
  /// default); true = log-probabilities, logit_z - log sum_y exp(logit_y), as
  /// the paper defines the extended logit matrix. The two differ by one
  /// constant per (row, block), a rank-<= blocks perturbation, so singular
  /// values (and ranks) can differ; issue 35 reports both.
  bool log_probs = false;
  /// "cpu" or "cuda": where the cached decode runs (nn::GptOnDevice::decode,
  /// the GPU engine's KV cache; float models only); "cuda-emulated" runs the
  /// GPU engine's code on the CPU (tests). The naive path stays on the host.
  std::string device = "cpu";
};

struct LogitMatrix {
  Matrix<double> values;  ///< [histories, blocks * k]
  Index vocab = 0;
  Index k = 0;       ///< tokens kept per block
  Index blocks = 0;  ///< 1 + futures * future_length
  Index future_length = 0;
  /// Token of each kept column, block-major: column b*k + i holds token
  /// tokens[b*k + i] after future prefix b (0 = empty; 1 + j*L + t - 1 =
  /// f_j[0..t)).
  std::vector<std::int32_t> tokens;
  Status status = Status::Success;  ///< Interrupted: `values` holds the rows done
  double elapsed_s = 0;
};

/// The extended logit matrix of `model` (layout above). Histories may differ
/// in length (>= 1); futures must all have the same length L >= 1, and every
/// history length + L must fit the model's context. Throws InvalidArgument
/// otherwise, for no histories or futures, and for tokens outside the
/// vocabulary. Progress is reported once per history; on interrupt the rows
/// done so far are returned (status Interrupted), with the top-k columns
/// chosen from them.
template <class T>
LogitMatrix build_logit_matrix(nn::Gpt<T>& model, const std::vector<Tokens>& histories,
                               const std::vector<Tokens>& futures, const LogitMatrixOptions& options = {},
                               const ProgressCallback& progress = {});

struct LogitRankOptions {
  /// Fitting range of the power law; last = 0 means min(rows, cols) / 2
  /// (at least 2) capped at the last value above the rank tolerance, which
  /// leaves out the finite-size drop at the end of the spectrum.
  PowerLawDecayOptions fit;
  /// Ranks for the reconstruction curve; empty = 1, 2, 4, ... up to
  /// min(rows, cols). Each must lie in [1, min(rows, cols)].
  std::vector<Index> ranks;
};

struct RankPoint {
  Index rank = 0;
  double relative_error = 0;  ///< ||M - M_r||_F / ||M||_F
  double mean_kl = 0;         ///< mean over (history, block) of KL(softmax(M) || softmax(M_r))
};

struct LogitRankResult {
  Index rows = 0, cols = 0;
  VectorXd singular_values;  ///< decreasing
  PowerLawDecay decay;
  double stable_rank = 0;
  Index energy_rank_90 = 0, energy_rank_99 = 0;
  std::vector<RankPoint> reconstruction;
};

/// Singular values, power-law fit and the rank-r reconstruction curve of a
/// logit matrix. Throws InvalidArgument for an empty matrix, NaN entries or a
/// rank outside [1, min(rows, cols)].
LogitRankResult analyze_logit_matrix(const LogitMatrix& m, const LogitRankOptions& options = {});

struct LingenOptions {
  double ridge = 0;   ///< >= 0; 0 = least squares (minimum norm)
  Index length = 16;  ///< tokens generated per sample
  Index samples = 4;  ///< independent generations (seeds seed, seed+1, ...)
  std::uint64_t seed = 0;
  LogitMatrixOptions matrix;  ///< how the regression matrix is built
};

struct LingenSample {
  Tokens tokens;                    ///< generated by LINGEN
  std::vector<double> kl_lingen;    ///< per step, KL(true || LINGEN)
  std::vector<double> kl_baseline;  ///< per step, KL(true || uniform mix of the others)
};

struct LingenResult {
  VectorXd coefficients;             ///< c, one per other history
  double fit_relative_residual = 0;  ///< ||m_* - A^T c|| / ||m_*||
  double mean_kl_lingen = 0;         ///< over samples and steps
  double mean_kl_baseline = 0;
  std::vector<double> kl_lingen_by_step, kl_baseline_by_step;  ///< mean over samples
  std::vector<LingenSample> samples;
  Status status = Status::Success;
};

/// LINGEN for `target` from `others` (see the header comment): builds the
/// logit matrix of [others..., target] over `futures`, regresses, generates.
/// Throws InvalidArgument as build_logit_matrix does, for ridge < 0, length
/// < 1, samples < 1, no other history, or a history too long to generate
/// `length` tokens within the context.
template <class T>
LingenResult lingen(nn::Gpt<T>& model, const Tokens& target, const std::vector<Tokens>& others,
                    const std::vector<Tokens>& futures, const LingenOptions& options = {},
                    const ProgressCallback& progress = {});

/// Coefficients c minimising ||y - A^T c||^2 + ridge ||c||^2 for A [n, p]
/// (minimum-norm least squares when ridge = 0, via a complete orthogonal
/// decomposition; the normal equations (A A^T + ridge I) c = A y otherwise).
VectorXd lingen_coefficients(const Matrix<double>& a, const VectorXd& y, double ridge);

/// How many windows of text `lowrank logit-rank` / `lingen` draw (with
/// sample_windows): histories are the matrix rows, each future's prefixes
/// its column blocks.
struct LogitWindowOptions {
  Index histories = 100;
  Index history_length = 24;  ///< tokens per history
  Index futures = 30;
  Index future_length = 4;  ///< tokens per future
};

/// `count` windows of `length` tokens from disjoint chunks of `tokens`
/// (chunk i = tokens[i*length, (i+1)*length)), the chunks drawn without
/// replacement with a seeded RNG. Throws InvalidArgument naming `what` when
/// the text holds fewer than `count` chunks, or count / length < 1.
std::vector<Tokens> sample_windows(const Tokens& tokens, Index count, Index length, std::uint64_t seed,
                                   const std::string& what = "text");

/// A seeded random permutation of `tokens` ("nonsense" text with the same
/// character frequencies).
Tokens shuffled(const Tokens& tokens, std::uint64_t seed);

}  // namespace lowrank::diagnostics
