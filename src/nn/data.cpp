#include "lowrank/nn/data.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "lowrank/core/error.hpp"
#include "lowrank/io/file.hpp"

namespace lowrank::nn {

CharTokenizer::CharTokenizer(std::string vocab) : m_vocab(std::move(vocab)) {
  std::fill(std::begin(m_id), std::end(m_id), -1);
  if (m_vocab.empty()) throw InvalidArgument("tokenizer: empty vocabulary");
  for (std::size_t i = 0; i < m_vocab.size(); ++i) {
    const auto c = static_cast<unsigned char>(m_vocab[i]);
    if (m_id[c] >= 0) throw InvalidArgument("tokenizer: byte " + std::to_string(c) + " repeated in vocabulary");
    m_id[c] = static_cast<std::int32_t>(i);
  }
}

CharTokenizer CharTokenizer::from_text(std::string_view text) {
  bool seen[256] = {};
  for (unsigned char c : text) seen[c] = true;
  std::string v;
  for (int c = 0; c < 256; ++c)
    if (seen[c]) v.push_back(static_cast<char>(c));
  return CharTokenizer(v);
}

std::vector<std::int32_t> CharTokenizer::encode(std::string_view text) const {
  std::vector<std::int32_t> out(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (m_id[c] < 0)
      throw InvalidArgument("tokenizer: byte " + std::to_string(c) + " at offset " + std::to_string(i) +
                            " is not in the vocabulary");
    out[i] = m_id[c];
  }
  return out;
}

std::string CharTokenizer::decode(const std::vector<std::int32_t>& ids) const {
  std::string s;
  s.reserve(ids.size());
  for (auto id : ids) {
    if (id < 0 || id >= size()) throw InvalidArgument("tokenizer: id " + std::to_string(id) + " out of range");
    s.push_back(m_vocab[static_cast<std::size_t>(id)]);
  }
  return s;
}

std::size_t find_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else return i;
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (d & 0x3F);
    }
    // overlong forms, surrogates and values beyond U+10FFFF are invalid
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return i;
    i += len;
  }
  return std::string_view::npos;
}

TextData load_text(const std::string& path, double val_fraction, Index min_len) {
  if (!(val_fraction >= 0 && val_fraction < 1)) throw InvalidArgument("val_fraction must be in [0, 1)");
  const std::string text = io::read_file(path);  // refuses /dev/zero and other unbounded sources
  if (text.empty()) throw InputError(path, "text file is empty");
  const auto bad = find_invalid_utf8(text);
  if (bad != std::string_view::npos) throw InputError::at_byte(path, bad, "not valid UTF-8");
  TextData d;
  d.source = path;
  d.tokenizer = CharTokenizer::from_text(text);
  const auto ids = d.tokenizer.encode(text);
  const auto n_train = static_cast<std::size_t>(static_cast<double>(ids.size()) * (1.0 - val_fraction));
  d.train.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n_train));
  d.val.assign(ids.begin() + static_cast<std::ptrdiff_t>(n_train), ids.end());
  const auto need = static_cast<std::size_t>(min_len + 1);
  if (d.train.size() < need || (val_fraction > 0 && d.val.size() < need))
    throw InvalidArgument(path + ": " + std::to_string(ids.size()) + " tokens are too few for windows of " +
                          std::to_string(need) + " in both splits");
  return d;
}

void sample_batch(const std::vector<std::int32_t>& data, Index B, Index T, Rng& rng, std::vector<std::int32_t>& x,
                  std::vector<std::int32_t>& y) {
  if (static_cast<Index>(data.size()) < T + 1) throw InvalidArgument("sample_batch: data shorter than T + 1");
  x.resize(static_cast<std::size_t>(B * T));
  y.resize(static_cast<std::size_t>(B * T));
  const auto windows = static_cast<std::uint64_t>(data.size()) - static_cast<std::uint64_t>(T);
  for (Index b = 0; b < B; ++b) {
    const auto off = static_cast<std::size_t>(rng.index(windows));
    for (Index t = 0; t < T; ++t) {
      x[static_cast<std::size_t>(b * T + t)] = data[off + static_cast<std::size_t>(t)];
      y[static_cast<std::size_t>(b * T + t)] = data[off + static_cast<std::size_t>(t) + 1];
    }
  }
}

std::string rng_state(const Rng& rng) { return rng.state(); }

void set_rng_state(Rng& rng, const std::string& state) {
  if (state.rfind("xoshiro256**", 0) == 0) {
    rng.set_state(state);
    return;
  }
  // A std::mt19937_64 state from an older checkpoint: 312 words and its
  // position. Fold them into one seed (see data.hpp).
  std::istringstream is(state);
  std::uint64_t word = 0, fold = 0, count = 0;
  while (is >> word) {
    std::uint64_t mix = fold ^ word;
    fold = splitmix64(mix);
    ++count;
  }
  if (!is.eof() || count < 312) throw InvalidArgument("malformed RNG state");
  rng.reseed(fold);
}

}  // namespace lowrank::nn
