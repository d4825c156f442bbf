// Token sampling over one row of logits: seedable and reproducible (the
// random stream is our own xoshiro256**, not a standard-library distribution
// whose output may differ between implementations).
//
// The pipeline, in order: repetition and presence penalties on the logits of
// tokens already seen (prompt and generated), greedy argmax (or temperature
// 0) or temperature scaling, softmax, top-k, renormalize, top-p (the smallest
// most-probable set whose mass reaches p), min-p (drop tokens below
// min_p * the largest probability), renormalize, draw.
#pragma once

#include <cstdint>
#include <vector>

namespace lathe::runtime {

struct SamplingParams {
  bool greedy = false;
  float temperature = 1.0f;         // > 0; 0 means greedy
  int32_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // (0, 1]; 1: off
  float min_p = 0.0f;               // [0, 1]; 0: off
  float repetition_penalty = 1.0f;  // > 0; seen logits l become l / r if l > 0, else l * r (CTRL)
  float presence_penalty = 0.0f;    // subtracted once from every seen token's logit
  uint64_t seed = 0;
};

/// Throws Error(LATHE_ERROR_INVALID_ARGUMENT) naming the first bad field.
void validateSampling(const SamplingParams& params, const char* where);

struct Candidate {
  int32_t token;
  double probability;
};

/// The distribution a draw uses: candidates sorted by probability (ties by
/// token id), probabilities summing to 1. Greedy yields the argmax alone.
std::vector<Candidate> candidateDistribution(const float* logits, int64_t vocab, const SamplingParams& params,
                                             const std::vector<int32_t>& seen);

/// log softmax(logits)[token] of the model's own distribution (no penalties,
/// temperature or truncation), as RLHF/DPO need it.
float tokenLogProb(const float* logits, int64_t vocab, int32_t token);

/// xoshiro256** seeded through splitmix64.
class Rng {
public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();

private:
  uint64_t state_[4];
};

class Sampler {
public:
  explicit Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}
  int32_t sample(const float* logits, int64_t vocab, const std::vector<int32_t>& seen);
  const SamplingParams& params() const { return params_; }

private:
  SamplingParams params_;
  Rng rng_;
};

}  // namespace lathe::runtime
