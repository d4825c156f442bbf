// GPT-2's pre-tokenization: splits text into the pieces that the pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// matches, as a hand-written scanner (no regex engine). BPE runs on each piece
// separately. Invalid UTF-8 bytes count as [^\s\p{L}\p{N}], so every byte ends
// up in exactly one piece.
#pragma once

#include <cstddef>
#include <string_view>

namespace lathe::tokenizer {

class Gpt2PreTokenizer {
public:
  explicit Gpt2PreTokenizer(std::string_view text) : text_(text) {}

  /// The next piece, or false at the end of the text.
  bool next(std::string_view& piece);

private:
  size_t contractionLength() const;
  size_t runEnd(size_t from, int char_class) const;
  size_t whitespaceEnd() const;

  std::string_view text_;
  size_t position_ = 0;
};

}  // namespace lathe::tokenizer
