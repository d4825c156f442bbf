// (B, T) batches from a token span. Row b's inputs are T consecutive tokens
// and its targets the same window shifted by one (llm.c's convention).
//  - sequential: batch k reads tokens kBT ... (k+1)BT of the span (plus one
//    for the last target), wrapping to the start when the span is used up;
//  - shuffled: every row starts at an offset drawn from a seeded SplitMix64.
// The whole position is {rng, batches drawn}, saved in checkpoints.
#pragma once

#include "TokenData.h"

#include <cstdint>
#include <vector>

namespace lathe::train {

struct Batch {
  int64_t rows = 0;  // B
  int64_t seq = 0;   // T
  std::vector<int32_t> tokens;   // (B, T)
  std::vector<int32_t> targets;  // (B, T)
};

struct LoaderPosition {
  uint64_t rng = 0;
  uint64_t batches = 0;  // batches drawn so far
  bool operator==(const LoaderPosition& other) const { return rng == other.rng && batches == other.batches; }
};

class DataLoader {
public:
  /// Throws DataError when the span cannot hold one batch.
  DataLoader(const TokenStream& stream, TokenSpan span, int64_t batch, int64_t seq, bool shuffle, uint64_t seed);

  Batch next();
  const LoaderPosition& position() const { return position_; }
  void setPosition(const LoaderPosition& position) { position_ = position; }

private:
  void fillRow(Batch& batch, int64_t row, size_t start) const;

  const TokenStream& stream_;
  TokenSpan span_;
  int64_t batch_, seq_;
  bool shuffle_;
  LoaderPosition position_;
};

/// The held-out batches: consecutive windows of T (+1) tokens, at most
/// `max_rows` of them, grouped into batches of up to `batch` rows.
std::vector<Batch> validationBatches(const TokenStream& stream, TokenSpan span, int64_t batch, int64_t seq,
                                     int64_t max_rows);

}  // namespace lathe::train
