// Learns byte-level BPE merges from text with GPT-2's pre-tokenization.
// Words (pre-tokenized pieces) are counted once; each merge then updates only
// the pair counts of the words that contain the merged pair, and the next pair
// comes from a max-heap with lazy re-insertion of stale counts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "Tokenizer.h"

namespace lathe::tokenizer {

struct TrainOptions {
  size_t vocab_size = 0;  // total: 256 bytes + merges + special tokens
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
  uint64_t min_pair_count = 2;  // stop early when no pair occurs this often
};

class BpeTrainer {
public:
  explicit BpeTrainer(TrainOptions options);

  /// Counts the words of `text`; special tokens in it are skipped.
  void addText(std::string_view text);
  /// The learned vocabulary: byte tokens in GPT-2's order, merged tokens in
  /// merge order, then the special tokens.
  Vocabulary train() const;

  size_t distinctWords() const { return word_counts_.size(); }
  uint64_t totalBytes() const { return total_bytes_; }

private:
  void countWords(std::string_view text);

  TrainOptions options_;
  std::unordered_map<std::string, uint64_t> word_counts_;
  uint64_t total_bytes_ = 0;
};

}  // namespace lathe::tokenizer
