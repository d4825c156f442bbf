// Byte-level BPE (GPT-2 style): a vocabulary of byte strings, merges in rank
// order, special tokens matched literally in the text. Encoding splits text
// with GPT-2's pre-tokenizer and applies the merges inside each piece exactly
// like GPT-2's encoder.py (lowest-ranked adjacent pair first, all of its
// occurrences left to right). Any byte string encodes, and decode(encode(x))
// == x. A Tokenizer is immutable after construction and safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "FlatHash.h"

namespace lathe::tokenizer {

using TokenId = uint32_t;

struct Vocabulary {
  std::vector<std::string> tokens;                   // id -> bytes
  std::vector<TokenId> special_ids;                  // matched literally, never produced by merges
  std::vector<std::pair<TokenId, TokenId>> merges;   // rank -> (left, right)
};

class Tokenizer {
public:
  /// Checks the vocabulary (all 256 single bytes present, unique byte strings,
  /// every merge's result in the vocabulary, ...); throws lathe::runtime::Error
  /// (LATHE_ERROR_INVALID_ARGUMENT) naming the first problem.
  explicit Tokenizer(Vocabulary vocabulary);
  // The lookup tables point into the vocabulary's strings: not copyable or movable.
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  /// Appends the ids of `text`. With `allow_special`, special tokens in the
  /// text become their ids; without, they are encoded as ordinary text.
  void encode(std::string_view text, bool allow_special, std::vector<TokenId>& out) const;
  std::vector<TokenId> encode(std::string_view text, bool allow_special = true) const;

  /// The concatenated bytes of `ids`; throws for an id out of range.
  std::string decode(const TokenId* ids, size_t count) const;
  std::string decode(const std::vector<TokenId>& ids) const { return decode(ids.data(), ids.size()); }

  size_t size() const { return vocabulary_.tokens.size(); }
  const Vocabulary& vocabulary() const { return vocabulary_; }
  std::string_view tokenBytes(TokenId id) const { return vocabulary_.tokens.at(id); }
  bool isSpecial(TokenId id) const { return id < is_special_.size() && is_special_[id]; }
  /// The id of a special token's text, or UINT32_MAX.
  TokenId specialId(std::string_view text) const;

private:
  void buildMerges(const StringIdMap& ids_by_bytes);
  void buildSpecials();
  void buildWholePieceIndex();
  void encodePiece(std::string_view piece, std::vector<TokenId>& out) const;
  void mergeShort(std::vector<TokenId>& ids) const;
  void mergeLong(std::vector<TokenId>& ids) const;
  void encodeOrdinary(std::string_view text, std::vector<TokenId>& out) const;
  /// Length of the longest special token at text[at...], 0 if none; sets `id`.
  size_t matchSpecial(std::string_view text, size_t at, TokenId& id) const;

  Vocabulary vocabulary_;
  std::vector<bool> is_special_;
  TokenId byte_ids_[256] = {};
  WordMap merge_of_pair_;        // (left << 32 | right) -> (rank << 32 | merged id)
  StringIdMap whole_piece_ids_;  // tokens that BPE reproduces from their own bytes
  bool ranks_monotone_ = true;   // every merge only uses tokens made by lower ranks
  std::vector<std::pair<std::string_view, TokenId>> specials_by_length_;  // longest first
  bool special_first_byte_[256] = {};
};

/// Turns ids back into text a piece at a time, emitting only complete UTF-8:
/// a character whose bytes are split across tokens comes out once all its
/// bytes have arrived. Bytes that can never form a character pass through.
class StreamDecoder {
public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  /// The text that became complete with `id` (possibly empty).
  std::string push(TokenId id);
  /// Whatever is still held back (an incomplete character at the end).
  std::string finish();

private:
  const Tokenizer& tokenizer_;
  std::string pending_;
};

}  // namespace lathe::tokenizer
