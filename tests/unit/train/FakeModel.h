// A small analytic model with the training entry points' contract, so the
// driver (data, schedule, accumulation, checkpoints, resume, NaN stops) is
// tested without a compiled artifact: loss = mean over tokens of
// (w[target] - token / V)^2, SGD with momentum in adam.m.w.
#pragma once

#include "TrainingModel.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <limits>

namespace lathe::train::test {

class FakeModel : public TrainingModel {
public:
  static constexpr int64_t kVocab = 16;
  /// Batches containing `poison` (>= 0) give a NaN loss.
  explicit FakeModel(int32_t poison = -1) : poison_(poison), w_(kVocab), grad_(kVocab), m_(kVocab) {
    for (int64_t i = 0; i < kVocab; ++i) w_[i] = 0.1f * static_cast<float>(i % 5);
  }

  std::vector<StateInfo> states() const override {
    const size_t bytes = kVocab * sizeof(float);
    return {{"param.w", LATHE_STATE_PARAMETER, bytes, {kVocab}},
            {"grad.w", LATHE_STATE_GRADIENT, bytes, {kVocab}},
            {"adam.m.w", LATHE_STATE_OPTIMIZER_MOMENT, bytes, {kVocab}}};
  }
  void readState(const std::string& name, void* dst, size_t bytes) const override {
    std::memcpy(dst, state(name).data(), bytes);
  }
  void writeState(const std::string& name, const void* src, size_t bytes) override {
    std::memcpy(const_cast<float*>(state(name).data()), src, bytes);
  }
  float microStep(const Batch& batch) override { return loss(batch, true); }
  float evalLoss(const Batch& batch) override { return loss(batch, false); }
  float optimizerStep(const OptimizerHyper& hyper) override {
    const float lr = hyper[0], beta1 = hyper[1], decay = hyper[4], scale = hyper[6];
    double norm = 0.0;
    for (int64_t i = 0; i < kVocab; ++i) {
      const float g = grad_[i] * scale;
      norm += static_cast<double>(g) * g;
      m_[i] = beta1 * m_[i] + g;
      w_[i] -= lr * m_[i] + lr * decay * w_[i];
      grad_[i] = 0.0f;
    }
    ++optimizer_steps;
    return static_cast<float>(std::sqrt(norm));
  }
  std::string modelJson() const override { return "{\"fake\": true}"; }
  int64_t maxBatch() const override { return 8; }
  int64_t maxSeq() const override { return 32; }

  int64_t optimizer_steps = 0;

private:
  const std::vector<float>& state(const std::string& name) const {
    if (name == "param.w") return w_;
    if (name == "grad.w") return grad_;
    if (name == "adam.m.w") return m_;
    throw std::runtime_error("no state " + name);
  }
  float loss(const Batch& batch, bool accumulate) {
    double sum = 0.0;
    const size_t n = batch.tokens.size();
    for (size_t i = 0; i < n; ++i) {
      if (batch.tokens[i] == poison_) return std::numeric_limits<float>::quiet_NaN();
      const int32_t t = batch.targets[i];
      const float diff = w_[t] - static_cast<float>(batch.tokens[i]) / kVocab;
      sum += static_cast<double>(diff) * diff;
      if (accumulate) grad_[t] += 2.0f * diff / static_cast<float>(n);
    }
    return static_cast<float>(sum / static_cast<double>(n));
  }

  int32_t poison_;
  std::vector<float> w_, grad_, m_;
};

/// A deterministic pseudo-random stream of ids in [0, FakeModel::kVocab) (never `avoid`).
inline std::vector<int32_t> fakeTokens(size_t count, int32_t avoid = -1) {
  std::vector<int32_t> tokens(count);
  uint64_t state = 12345;
  for (auto& token : tokens) {
    do {
      uint64_t z = (state += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      token = static_cast<int32_t>((z ^ (z >> 31)) % FakeModel::kVocab);
    } while (token == avoid);
  }
  return tokens;
}

}  // namespace lathe::train::test
