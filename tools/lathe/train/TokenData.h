// Training data: a token stream (a memory-mapped 1-D int32 .npy, or a text
// file encoded with the model's tokenizer), split into a training part and a
// held-out tail for validation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lathe {
class Tokenizer;
}

namespace lathe::train {

/// Bad training data or options; the message names the file and the problem.
class DataError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A read-only run of token ids, owned (encoded text) or memory-mapped (.npy).
class TokenStream {
public:
  /// A 1-D little-endian int32 .npy, mapped without copying.
  static TokenStream mapNpy(const std::string& path);
  /// Text encoded with `tokenizer` (special tokens such as <|endoftext|> are honoured).
  static TokenStream encodeText(const std::string& path, const Tokenizer& tokenizer);
  static TokenStream fromTokens(std::vector<int32_t> tokens, std::string source = "tokens");

  TokenStream(TokenStream&&) noexcept;
  TokenStream& operator=(TokenStream&&) noexcept;
  ~TokenStream();

  const int32_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& source() const { return source_; }
  /// Throws DataError naming the first id outside [0, vocab) and its position.
  void checkVocab(int64_t vocab) const;

private:
  TokenStream() = default;
  struct Mapping;
  std::unique_ptr<Mapping> mapping_;
  std::vector<int32_t> owned_;
  const int32_t* data_ = nullptr;
  size_t size_ = 0;
  std::string source_;
};

/// A contiguous range [begin, end) of the stream.
struct TokenSpan {
  size_t begin = 0;
  size_t end = 0;
  size_t size() const { return end - begin; }
};

struct Split {
  TokenSpan train;
  TokenSpan validation;  // empty when val_fraction is 0
};

/// The last `val_fraction` of the stream is held out; both parts are contiguous and disjoint.
Split splitStream(size_t tokens, double val_fraction);

}  // namespace lathe::train
