#include "Tokenizer.h"

#include <algorithm>
#include <queue>

#include "Error.h"
#include "PreTokenizer.h"
#include "Utf8.h"

namespace lathe::tokenizer {
namespace {

using runtime::Error;

constexpr uint64_t pairKey(TokenId left, TokenId right) { return (uint64_t{left} << 32) | right; }
constexpr uint32_t kNoRank = UINT32_MAX;
// Pieces longer than this merge with a heap (O(n log n)) instead of rescans (O(n^2)).
constexpr size_t kShortPiece = 64;

Error invalid(const std::string& what) { return Error(LATHE_ERROR_INVALID_ARGUMENT, "invalid tokenizer: " + what); }

std::string printable(std::string_view bytes) {
  std::string text;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      text += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      text += "\\x";
      text += kHex[c >> 4];
      text += kHex[c & 15];
    }
  }
  return "\"" + text + "\"";
}

}  // namespace

Tokenizer::Tokenizer(Vocabulary vocabulary) : vocabulary_(std::move(vocabulary)) {
  const auto& tokens = vocabulary_.tokens;
  if (tokens.empty()) throw invalid("the vocabulary is empty");
  if (tokens.size() >= INT32_MAX) throw invalid("the vocabulary has more than 2^31 tokens");
  buildSpecials();
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), UINT32_MAX);
  StringIdMap ids_by_bytes;
  ids_by_bytes.reserve(tokens.size());
  for (TokenId id = 0; id < tokens.size(); ++id) {
    if (is_special_[id]) continue;
    if (tokens[id].empty()) throw invalid("token " + std::to_string(id) + " is empty");
    if (!ids_by_bytes.insert(tokens[id], id)) {
      throw invalid("tokens " + std::to_string(ids_by_bytes.find(tokens[id])) + " and " + std::to_string(id) +
                    " are both " + printable(tokens[id]));
    }
    if (tokens[id].size() == 1) byte_ids_[static_cast<unsigned char>(tokens[id][0])] = id;
  }
  for (int byte = 0; byte < 256; ++byte) {
    if (byte_ids_[byte] == UINT32_MAX) {
      throw invalid("no token for the single byte " + printable(std::string(1, static_cast<char>(byte))) +
                    " (a byte-level vocabulary needs all 256)");
    }
  }
  buildMerges(ids_by_bytes);
  buildWholePieceIndex();
}

void Tokenizer::buildSpecials() {
  const auto& tokens = vocabulary_.tokens;
  is_special_.assign(tokens.size(), false);
  for (TokenId id : vocabulary_.special_ids) {
    if (id >= tokens.size()) {
      throw invalid("special token id " + std::to_string(id) + " is out of range (vocabulary size " +
                    std::to_string(tokens.size()) + ")");
    }
    if (tokens[id].empty()) throw invalid("special token " + std::to_string(id) + " is empty");
    if (is_special_[id]) throw invalid("special token " + std::to_string(id) + " is listed twice");
    is_special_[id] = true;
    specials_by_length_.emplace_back(tokens[id], id);
    special_first_byte_[static_cast<unsigned char>(tokens[id][0])] = true;
  }
  std::stable_sort(specials_by_length_.begin(), specials_by_length_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void Tokenizer::buildMerges(const StringIdMap& ids_by_bytes) {
  const auto& tokens = vocabulary_.tokens;
  const auto& merges = vocabulary_.merges;
  std::vector<uint32_t> made_at_rank(tokens.size(), kNoRank);
  merge_of_pair_.reserve(merges.size());
  std::string merged;
  for (uint32_t rank = 0; rank < merges.size(); ++rank) {
    const auto [left, right] = merges[rank];
    auto where = [&, left = left, right = right] {
      return "merge " + std::to_string(rank) + " (" + std::to_string(left) + ", " + std::to_string(right) + ")";
    };
    if (left >= tokens.size() || right >= tokens.size()) throw invalid(where() + " names a token out of range");
    if (is_special_[left] || is_special_[right]) throw invalid(where() + " uses a special token");
    merged = tokens[left] + tokens[right];
    const TokenId merged_id = ids_by_bytes.find(merged);
    if (merged_id == StringIdMap::kMissing) {
      throw invalid(where() + ": the merged token " + printable(merged) + " is not in the vocabulary");
    }
    if (!merge_of_pair_.insert(pairKey(left, right), (uint64_t{rank} << 32) | merged_id)) {
      throw invalid(where() + " repeats an earlier merge of the same pair");
    }
    const bool inputs_made_later = (made_at_rank[left] != kNoRank && made_at_rank[left] >= rank) ||
                                   (made_at_rank[right] != kNoRank && made_at_rank[right] >= rank);
    if (inputs_made_later) ranks_monotone_ = false;
    if (made_at_rank[merged_id] == kNoRank) made_at_rank[merged_id] = rank;
  }
}

// A piece equal to a token's bytes can be looked up instead of merged, but
// only when merging would give that very token; this index holds those.
void Tokenizer::buildWholePieceIndex() {
  const auto& tokens = vocabulary_.tokens;
  whole_piece_ids_.reserve(tokens.size());
  std::vector<TokenId> ids;
  for (TokenId id = 0; id < tokens.size(); ++id) {
    if (is_special_[id]) continue;
    ids.clear();
    for (unsigned char byte : tokens[id]) ids.push_back(byte_ids_[byte]);
    if (ids.size() > kShortPiece && ranks_monotone_) {
      mergeLong(ids);
    } else {
      mergeShort(ids);
    }
    if (ids.size() == 1 && ids[0] == id) whole_piece_ids_.insert(tokens[id], id);
  }
}

// GPT-2's bpe(): merge every occurrence of the lowest-ranked pair, left to right, until none applies.
void Tokenizer::mergeShort(std::vector<TokenId>& ids) const {
  while (ids.size() > 1) {
    uint64_t best = WordMap::kEmpty;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      const uint64_t merge = merge_of_pair_.find(pairKey(ids[i], ids[i + 1]));
      if (merge < best) best = merge;
    }
    if (best == WordMap::kEmpty) return;
    const uint64_t best_rank = best >> 32;
    const auto merged = static_cast<TokenId>(best & 0xFFFFFFFFu);
    const auto [left, right] = vocabulary_.merges[best_rank];
    size_t out = 0;
    for (size_t i = 0; i < ids.size(); ++out) {
      if (i + 1 < ids.size() && ids[i] == left && ids[i + 1] == right) {
        ids[out] = merged;
        i += 2;
      } else {
        ids[out] = ids[i++];
      }
    }
    ids.resize(out);
  }
}

// The same result with a heap of (rank, position) over a linked list. Equal to
// mergeShort when ranks are monotone: new pairs then never outrank the current one.
void Tokenizer::mergeLong(std::vector<TokenId>& ids) const {
  const size_t n = ids.size();
  std::vector<size_t> next(n), prev(n);
  for (size_t i = 0; i < n; ++i) next[i] = i + 1, prev[i] = i - 1;  // prev[0] wraps to SIZE_MAX
  std::vector<bool> alive(n, true);
  using Entry = std::pair<uint64_t, size_t>;  // (rank << 32 | merged id, position)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto push = [&](size_t at) {
    if (at >= n || next[at] >= n) return;
    const uint64_t merge = merge_of_pair_.find(pairKey(ids[at], ids[next[at]]));
    if (merge != WordMap::kEmpty) heap.emplace(merge, at);
  };
  for (size_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const auto [merge, at] = heap.top();
    heap.pop();
    if (!alive[at] || next[at] >= n) continue;
    const auto [left, right] = vocabulary_.merges[merge >> 32];
    if (ids[at] != left || ids[next[at]] != right) continue;  // stale entry
    const size_t gone = next[at];
    ids[at] = static_cast<TokenId>(merge & 0xFFFFFFFFu);
    alive[gone] = false;
    next[at] = next[gone];
    if (next[at] < n) prev[next[at]] = at;
    push(prev[at]);
    push(at);
  }
  size_t out = 0;
  for (size_t i = 0; i < n; i = next[i]) ids[out++] = ids[i];
  ids.resize(out);
}

void Tokenizer::encodePiece(std::string_view piece, std::vector<TokenId>& out) const {
  const TokenId whole = whole_piece_ids_.find(piece);
  if (whole != StringIdMap::kMissing) {
    out.push_back(whole);
    return;
  }
  thread_local std::vector<TokenId> ids;
  ids.clear();
  for (unsigned char byte : piece) ids.push_back(byte_ids_[byte]);
  if (ids.size() > kShortPiece && ranks_monotone_) {
    mergeLong(ids);
  } else {
    mergeShort(ids);
  }
  out.insert(out.end(), ids.begin(), ids.end());
}

void Tokenizer::encodeOrdinary(std::string_view text, std::vector<TokenId>& out) const {
  Gpt2PreTokenizer pieces(text);
  std::string_view piece;
  while (pieces.next(piece)) encodePiece(piece, out);
}

size_t Tokenizer::matchSpecial(std::string_view text, size_t at, TokenId& id) const {
  for (const auto& [bytes, special_id] : specials_by_length_) {
    if (text.compare(at, bytes.size(), bytes) == 0) {
      id = special_id;
      return bytes.size();
    }
  }
  return 0;
}

void Tokenizer::encode(std::string_view text, bool allow_special, std::vector<TokenId>& out) const {
  if (!allow_special || specials_by_length_.empty()) {
    encodeOrdinary(text, out);
    return;
  }
  size_t start = 0;
  for (size_t at = 0; at < text.size(); ++at) {
    if (!special_first_byte_[static_cast<unsigned char>(text[at])]) continue;
    TokenId id = 0;
    if (const size_t length = matchSpecial(text, at, id)) {
      encodeOrdinary(text.substr(start, at - start), out);
      out.push_back(id);
      at += length - 1;
      start = at + 1;
    }
  }
  encodeOrdinary(text.substr(start), out);
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool allow_special) const {
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 1);
  encode(text, allow_special, ids);
  return ids;
}

std::string Tokenizer::decode(const TokenId* ids, size_t count) const {
  std::string text;
  for (size_t i = 0; i < count; ++i) {
    if (ids[i] >= vocabulary_.tokens.size()) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "token id " + std::to_string(ids[i]) + " at position " +
                                                    std::to_string(i) + " is out of range (vocabulary size " +
                                                    std::to_string(vocabulary_.tokens.size()) + ")");
    }
    text += vocabulary_.tokens[ids[i]];
  }
  return text;
}

TokenId Tokenizer::specialId(std::string_view text) const {
  for (const auto& [bytes, id] : specials_by_length_) {
    if (bytes == text) return id;
  }
  return UINT32_MAX;
}

std::string StreamDecoder::push(TokenId id) {
  pending_ += tokenizer_.decode(&id, 1);
  const size_t held = incompleteUtf8Suffix(pending_);
  std::string ready = pending_.substr(0, pending_.size() - held);
  pending_.erase(0, pending_.size() - held);
  return ready;
}

std::string StreamDecoder::finish() { return std::exchange(pending_, std::string()); }

}  // namespace lathe::tokenizer
