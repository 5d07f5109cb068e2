#pragma once
// Text data for the nn engine: a character (byte) tokenizer, a 90/10
// train/validation split and a seeded random batch sampler. The vocabulary is
// the sorted set of distinct bytes of the training text (65 symbols for
// tinyshakespeare, as in nanoGPT's shakespeare_char); for ASCII text a token
// is a character.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lowrank/core/random.hpp"
#include "lowrank/linalg/types.hpp"

namespace lowrank::nn {

class CharTokenizer {
 public:
  CharTokenizer() = default;
  /// Vocabulary = the given bytes (distinct, in that order). Throws InvalidArgument on repeats or empty.
  explicit CharTokenizer(std::string vocab);
  static CharTokenizer from_text(std::string_view text);
  Index size() const { return static_cast<Index>(m_vocab.size()); }
  const std::string& vocab() const { return m_vocab; }
  /// Throws InvalidArgument naming the first byte not in the vocabulary.
  std::vector<std::int32_t> encode(std::string_view text) const;
  std::string decode(const std::vector<std::int32_t>& ids) const;

 private:
  std::string m_vocab;
  std::int32_t m_id[256];
};

struct TextData {
  std::string source;  ///< file name
  CharTokenizer tokenizer;
  std::vector<std::int32_t> train, val;
};

/// Reads a UTF-8 text file, builds the tokenizer and splits the first
/// (1 - val_fraction) of it for training, the rest for validation. Throws
/// InputError for a missing, empty or non-UTF-8 file (with the byte offset of
/// the first invalid sequence), InvalidArgument for val_fraction outside [0, 1)
/// or a split too short for `min_len` + 1 tokens.
TextData load_text(const std::string& path, double val_fraction = 0.1, Index min_len = 1);

/// Checks UTF-8 validity; returns the byte offset of the first invalid
/// sequence or npos.
std::size_t find_invalid_utf8(std::string_view s);

/// B random windows of length T+1 from `data`: x = window[0..T), y = window[1..T],
/// batch-major [B*T]. Offsets are uniform from `rng`.
void sample_batch(const std::vector<std::int32_t>& data, Index B, Index T, Rng& rng, std::vector<std::int32_t>& x,
                  std::vector<std::int32_t>& y);

/// The full state of the generator as text (Rng::state) and back;
/// set_rng_state throws InvalidArgument on a malformed string. A checkpoint
/// written before lowrank used its own generator holds a std::mt19937_64
/// state (312 words and a position); it is accepted and reseeds the
/// generator from a splitmix64 fold of those words, so such a run resumes
/// deterministically, though not with the draws the old build would have made.
std::string rng_state(const Rng& rng);
void set_rng_state(Rng& rng, const std::string& state);

}  // namespace lowrank::nn
