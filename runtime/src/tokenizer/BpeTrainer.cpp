#include "BpeTrainer.h"

#include <algorithm>
#include <queue>

#include "Error.h"
#include "PreTokenizer.h"
#include "TokenizerFiles.h"

namespace lathe::tokenizer {
namespace {

using runtime::Error;

constexpr uint64_t pairKey(TokenId left, TokenId right) { return (uint64_t{left} << 32) | right; }

struct Word {
  std::vector<TokenId> symbols;
  uint64_t count;
};

struct HeapEntry {
  uint64_t count;
  uint64_t pair;
  // Highest count first; ties go to the smaller pair key so training is deterministic.
  bool operator<(const HeapEntry& other) const {
    return count != other.count ? count < other.count : pair > other.pair;
  }
};

/// Pair counts, the words each pair occurs in, and the heap that picks the next merge.
class PairStatistics {
public:
  explicit PairStatistics(std::vector<Word>& words) : words_(words), last_visit_(words.size(), UINT32_MAX) {
    for (uint32_t w = 0; w < words_.size(); ++w) {
      const auto& symbols = words_[w].symbols;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) add(pairKey(symbols[i], symbols[i + 1]), words_[w].count, w);
    }
    for (const auto& [pair, count] : counts_) heap_.push({static_cast<uint64_t>(count), pair});
  }

  /// The most frequent pair and its count; count 0 when none is left.
  HeapEntry best() {
    while (!heap_.empty()) {
      HeapEntry top = heap_.top();
      heap_.pop();
      const auto it = counts_.find(top.pair);
      const int64_t current = it == counts_.end() ? 0 : it->second;
      if (static_cast<uint64_t>(current) == top.count) return top;
      if (current > 0) heap_.push({static_cast<uint64_t>(current), top.pair});
    }
    return {0, 0};
  }

  /// Replaces every occurrence of `pair` by `merged` in the words holding it.
  void merge(uint64_t pair, TokenId merged, uint32_t merge_index) {
    const auto left = static_cast<TokenId>(pair >> 32);
    const auto right = static_cast<TokenId>(pair & 0xFFFFFFFFu);
    changed_.clear();
    std::vector<uint32_t> holders = std::move(words_of_pair_[pair]);
    words_of_pair_.erase(pair);
    for (uint32_t w : holders) {
      if (last_visit_[w] == merge_index) continue;  // listed more than once
      last_visit_[w] = merge_index;
      mergeInWord(w, left, right, merged);
    }
    counts_.erase(pair);
    for (uint64_t changed : changed_) {
      const auto it = counts_.find(changed);
      if (it != counts_.end() && it->second > 0) heap_.push({static_cast<uint64_t>(it->second), changed});
    }
  }

private:
  void add(uint64_t pair, int64_t count, uint32_t word) {
    counts_[pair] += count;
    auto& holders = words_of_pair_[pair];
    if (holders.empty() || holders.back() != word) holders.push_back(word);
  }

  void mergeInWord(uint32_t w, TokenId left, TokenId right, TokenId merged) {
    auto& symbols = words_[w].symbols;
    const auto count = static_cast<int64_t>(words_[w].count);
    size_t out = 0;
    for (size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
        if (out > 0) {
          counts_[pairKey(symbols[out - 1], left)] -= count;
          add(pairKey(symbols[out - 1], merged), count, w);
          changed_.push_back(pairKey(symbols[out - 1], merged));
        }
        if (i + 2 < symbols.size()) {
          counts_[pairKey(right, symbols[i + 2])] -= count;
          add(pairKey(merged, symbols[i + 2]), count, w);
          changed_.push_back(pairKey(merged, symbols[i + 2]));
        }
        symbols[out++] = merged;
        i += 2;
      } else {
        symbols[out++] = symbols[i++];
      }
    }
    symbols.resize(out);
  }

  std::vector<Word>& words_;
  std::vector<uint32_t> last_visit_;
  std::unordered_map<uint64_t, int64_t> counts_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> words_of_pair_;
  std::priority_queue<HeapEntry> heap_;
  std::vector<uint64_t> changed_;
};

/// The 256 single bytes in GPT-2's id order: bytes_to_unicode's order, i.e. by mapped code point.
std::vector<std::string> byteTokensInGpt2Order() {
  std::vector<int> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[b] = b;
  std::stable_sort(bytes.begin(), bytes.end(), [](int a, int b) {
    return bytesToMappedText(std::string(1, static_cast<char>(a))) <
           bytesToMappedText(std::string(1, static_cast<char>(b)));
  });
  std::vector<std::string> tokens;
  for (int b : bytes) tokens.emplace_back(1, static_cast<char>(b));
  return tokens;
}

}  // namespace

BpeTrainer::BpeTrainer(TrainOptions options) : options_(std::move(options)) {
  const size_t minimum = 256 + options_.special_tokens.size();
  if (options_.vocab_size < minimum) {
    throw Error(LATHE_ERROR_INVALID_ARGUMENT, "vocabulary size " + std::to_string(options_.vocab_size) +
                                                  " is too small: 256 byte tokens and " +
                                                  std::to_string(options_.special_tokens.size()) +
                                                  " special tokens need at least " + std::to_string(minimum));
  }
  for (const std::string& special : options_.special_tokens) {
    if (special.empty()) throw Error(LATHE_ERROR_INVALID_ARGUMENT, "a special token is empty");
  }
}

void BpeTrainer::countWords(std::string_view text) {
  Gpt2PreTokenizer pieces(text);
  std::string_view piece;
  std::string key;
  while (pieces.next(piece)) {
    key.assign(piece.data(), piece.size());
    ++word_counts_[key];
  }
}

void BpeTrainer::addText(std::string_view text) {
  total_bytes_ += text.size();
  size_t start = 0;
  while (start < text.size()) {
    size_t next_special = text.size();
    size_t special_length = 0;
    for (const std::string& special : options_.special_tokens) {
      const size_t at = text.find(special, start);
      if (at < next_special || (at == next_special && special.size() > special_length)) {
        next_special = at;
        special_length = special.size();
      }
    }
    countWords(text.substr(start, next_special - start));
    start = next_special + special_length;
  }
}

Vocabulary BpeTrainer::train() const {
  Vocabulary vocabulary;
  vocabulary.tokens = byteTokensInGpt2Order();
  TokenId id_of_byte[256];
  for (TokenId id = 0; id < 256; ++id) id_of_byte[static_cast<unsigned char>(vocabulary.tokens[id][0])] = id;

  std::vector<Word> words;
  words.reserve(word_counts_.size());
  for (const auto& [text, count] : word_counts_) {
    Word word{{}, count};
    for (unsigned char byte : text) word.symbols.push_back(id_of_byte[byte]);
    words.push_back(std::move(word));
  }
  // Word order decides nothing (ties break on pair ids), but keep it stable for reproducible runs.
  std::sort(words.begin(), words.end(), [](const Word& a, const Word& b) { return a.symbols < b.symbols; });

  std::unordered_map<std::string, TokenId> id_of_token;
  for (TokenId id = 0; id < vocabulary.tokens.size(); ++id) id_of_token.emplace(vocabulary.tokens[id], id);
  PairStatistics statistics(words);
  const size_t target = options_.vocab_size - options_.special_tokens.size();
  while (vocabulary.tokens.size() < target) {
    const HeapEntry best = statistics.best();
    if (best.count < std::max<uint64_t>(options_.min_pair_count, 1)) break;
    const auto left = static_cast<TokenId>(best.pair >> 32);
    const auto right = static_cast<TokenId>(best.pair & 0xFFFFFFFFu);
    std::string bytes = vocabulary.tokens[left] + vocabulary.tokens[right];
    auto [it, is_new] = id_of_token.emplace(bytes, static_cast<TokenId>(vocabulary.tokens.size()));
    if (is_new) vocabulary.tokens.push_back(std::move(bytes));
    statistics.merge(best.pair, it->second, static_cast<uint32_t>(vocabulary.merges.size()));
    vocabulary.merges.emplace_back(left, right);
  }
  for (const std::string& special : options_.special_tokens) {
    vocabulary.special_ids.push_back(static_cast<TokenId>(vocabulary.tokens.size()));
    vocabulary.tokens.push_back(special);
  }
  return vocabulary;
}

}  // namespace lathe::tokenizer
