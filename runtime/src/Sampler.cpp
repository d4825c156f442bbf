#include "Sampler.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "Error.h"

namespace lathe::runtime {
namespace {

Error badParam(const char* where, const std::string& what) {
  return Error(LATHE_ERROR_INVALID_ARGUMENT, std::string(where) + ": " + what);
}

std::vector<float> penalizedLogits(const float* logits, int64_t vocab, const SamplingParams& params,
                                   const std::vector<int32_t>& seen) {
  std::vector<float> out(logits, logits + vocab);
  if (params.repetition_penalty == 1.0f && params.presence_penalty == 0.0f) return out;
  std::unordered_set<int32_t> distinct(seen.begin(), seen.end());
  for (int32_t token : distinct) {
    if (token < 0 || token >= vocab) continue;
    float& logit = out[static_cast<size_t>(token)];
    logit = logit > 0 ? logit / params.repetition_penalty : logit * params.repetition_penalty;
    logit -= params.presence_penalty;
  }
  return out;
}

bool byProbability(const Candidate& a, const Candidate& b) {
  return a.probability != b.probability ? a.probability > b.probability : a.token < b.token;
}

void renormalize(std::vector<Candidate>& candidates) {
  double total = 0;
  for (const Candidate& c : candidates) total += c.probability;
  for (Candidate& c : candidates) c.probability /= total;
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

void validateSampling(const SamplingParams& p, const char* where) {
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature))
    throw badParam(where, "temperature must be >= 0, got " + std::to_string(p.temperature));
  if (p.top_k < 0) throw badParam(where, "top_k must be >= 0 (0 = off), got " + std::to_string(p.top_k));
  if (!(p.top_p > 0 && p.top_p <= 1)) throw badParam(where, "top_p must lie in (0, 1], got " + std::to_string(p.top_p));
  if (!(p.min_p >= 0 && p.min_p <= 1)) throw badParam(where, "min_p must lie in [0, 1], got " + std::to_string(p.min_p));
  if (!(p.repetition_penalty > 0) || !std::isfinite(p.repetition_penalty))
    throw badParam(where, "repetition_penalty must be > 0, got " + std::to_string(p.repetition_penalty));
  if (!std::isfinite(p.presence_penalty))
    throw badParam(where, "presence_penalty must be finite, got " + std::to_string(p.presence_penalty));
}

std::vector<Candidate> candidateDistribution(const float* logits, int64_t vocab, const SamplingParams& params,
                                             const std::vector<int32_t>& seen) {
  const std::vector<float> z = penalizedLogits(logits, vocab, params, seen);
  const auto best = std::max_element(z.begin(), z.end());  // the first maximum: ties go to the lower id
  if (params.greedy || params.temperature == 0.0f) {
    return {{static_cast<int32_t>(best - z.begin()), 1.0}};
  }
  const double max_scaled = static_cast<double>(*best) / params.temperature;
  std::vector<Candidate> candidates(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) {
    candidates[static_cast<size_t>(i)] = {static_cast<int32_t>(i),
                                          std::exp(static_cast<double>(z[static_cast<size_t>(i)]) / params.temperature -
                                                   max_scaled)};
  }
  if (params.top_k > 0 && params.top_k < vocab) {
    std::nth_element(candidates.begin(), candidates.begin() + params.top_k, candidates.end(), byProbability);
    candidates.resize(static_cast<size_t>(params.top_k));
  }
  std::sort(candidates.begin(), candidates.end(), byProbability);
  renormalize(candidates);
  if (params.top_p < 1.0f) {
    double mass = 0;
    size_t keep = 0;
    while (keep < candidates.size() && mass < params.top_p) mass += candidates[keep++].probability;
    candidates.resize(std::max<size_t>(keep, 1));
  }
  if (params.min_p > 0.0f) {
    const double floor = params.min_p * candidates.front().probability;
    while (candidates.size() > 1 && candidates.back().probability < floor) candidates.pop_back();
  }
  renormalize(candidates);
  return candidates;
}

float tokenLogProb(const float* logits, int64_t vocab, int32_t token) {
  const float max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  return static_cast<float>(static_cast<double>(logits[token]) - max - std::log(sum));
}

Rng::Rng(uint64_t seed) {
  for (uint64_t& word : state_) {  // splitmix64
    seed += 0x9e3779b97f4a7c15ull;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    word = z ^ (z >> 31);
  }
}

uint64_t Rng::next() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

int32_t Sampler::sample(const float* logits, int64_t vocab, const std::vector<int32_t>& seen) {
  const std::vector<Candidate> candidates = candidateDistribution(logits, vocab, params_, seen);
  if (candidates.size() == 1) return candidates.front().token;
  const double u = rng_.uniform();
  double cumulative = 0;
  for (const Candidate& c : candidates) {
    cumulative += c.probability;
    if (u < cumulative) return c.token;
  }
  return candidates.back().token;  // u within rounding of 1
}

}  // namespace lathe::runtime
