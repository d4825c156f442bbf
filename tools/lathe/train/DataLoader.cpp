#include "DataLoader.h"

#include <string>

namespace lathe::train {
namespace {

uint64_t splitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

DataLoader::DataLoader(const TokenStream& stream, TokenSpan span, int64_t batch, int64_t seq, bool shuffle,
                       uint64_t seed)
    : stream_(stream), span_(span), batch_(batch), seq_(seq), shuffle_(shuffle), position_{seed, 0} {
  if (batch < 1 || seq < 1) throw DataError("batch and sequence length must be at least 1");
  const size_t needed = static_cast<size_t>(batch * seq) + 1;
  if (span.size() < needed)
    throw DataError(stream.source() + ": the training part holds " + std::to_string(span.size()) +
                    " tokens; a batch of " + std::to_string(batch) + " x " + std::to_string(seq) + " needs " +
                    std::to_string(needed));
}

void DataLoader::fillRow(Batch& batch, int64_t row, size_t start) const {
  const int32_t* window = stream_.data() + span_.begin + start;
  for (int64_t t = 0; t < seq_; ++t) {
    batch.tokens[row * seq_ + t] = window[t];
    batch.targets[row * seq_ + t] = window[t + 1];
  }
}

Batch DataLoader::next() {
  Batch batch{batch_, seq_, std::vector<int32_t>(batch_ * seq_), std::vector<int32_t>(batch_ * seq_)};
  const size_t batch_tokens = static_cast<size_t>(batch_ * seq_);
  if (shuffle_) {
    const size_t starts = span_.size() - static_cast<size_t>(seq_);  // window [s, s + T] stays inside
    for (int64_t b = 0; b < batch_; ++b) fillRow(batch, b, splitMix64(position_.rng) % starts);
  } else {
    const size_t per_epoch = (span_.size() - 1) / batch_tokens;
    const size_t k = position_.batches % per_epoch;
    for (int64_t b = 0; b < batch_; ++b) fillRow(batch, b, k * batch_tokens + static_cast<size_t>(b * seq_));
  }
  ++position_.batches;
  return batch;
}

std::vector<Batch> validationBatches(const TokenStream& stream, TokenSpan span, int64_t batch, int64_t seq,
                                     int64_t max_rows) {
  if (span.size() < static_cast<size_t>(seq) + 1)
    throw DataError(stream.source() + ": the held-out part holds " + std::to_string(span.size()) +
                    " tokens, fewer than one sequence of " + std::to_string(seq) +
                    " + 1; raise --val-fraction or lower --seq");
  const int64_t rows = std::min<int64_t>(max_rows, static_cast<int64_t>((span.size() - 1) / seq));
  std::vector<Batch> batches;
  for (int64_t first = 0; first < rows; first += batch) {
    const int64_t count = std::min(batch, rows - first);
    Batch b{count, seq, std::vector<int32_t>(count * seq), std::vector<int32_t>(count * seq)};
    for (int64_t r = 0; r < count; ++r) {
      const int32_t* window = stream.data() + span.begin + (first + r) * seq;
      for (int64_t t = 0; t < seq; ++t) {
        b.tokens[r * seq + t] = window[t];
        b.targets[r * seq + t] = window[t + 1];
      }
    }
    batches.push_back(std::move(b));
  }
  return batches;
}

}  // namespace lathe::train
