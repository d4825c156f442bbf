// Autoregressive generation on a session: prefill of right-padded prompts,
// then one decode call per token for the whole batch, each sequence at its
// own position in the KV cache and with its own sampling settings.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "Sampler.h"
#include "Session.h"

namespace lathe::runtime {

struct SequenceRequest {
  std::vector<int32_t> prompt;  // at least one token
  SamplingParams sampling;
  int32_t max_new_tokens = 16;  // >= 1
  std::vector<int32_t> stop_tokens;
  std::vector<std::string> stop_strings;  // need a detokenizer
};

/// Same values as lathe_finish_reason in lathe.h.
enum class FinishReason { MaxTokens = 0, StopToken = 1, StopString = 2, ContextFull = 3, Cancelled = 4 };

struct SequenceResult {
  std::vector<int32_t> tokens;  // generated tokens, the stop token included
  std::vector<float> logprobs;  // the model's log-probability of each token
  FinishReason finish = FinishReason::MaxTokens;
};

struct GenerationStats {
  int64_t prefill_tokens = 0;  // real prompt tokens
  double prefill_seconds = 0;
  int64_t decode_tokens = 0;   // tokens produced by decode calls
  double decode_seconds = 0;
};

struct GenerationCallbacks {
  /// Each new token as it is chosen; return false to cancel the generation.
  std::function<bool(size_t sequence, int32_t token, float logprob)> on_token;
  /// The (B, V) logits of each step (0: prefill) before sampling.
  std::function<void(size_t step, const float* logits, size_t batch, size_t vocab)> on_logits;
};

/// Token id -> text; absent until the artifact carries a tokenizer.
using Detokenizer = std::function<std::string(int32_t token)>;

class Generator {
public:
  explicit Generator(Session& session, Detokenizer detokenizer = nullptr);

  /// Throws Error for bad requests (empty batch or prompt, a batch larger than
  /// max_batch, a prompt longer than max_seq, unknown token ids, bad settings,
  /// stop strings without a tokenizer). `cancel` may be set from another thread.
  std::vector<SequenceResult> generate(const std::vector<SequenceRequest>& requests,
                                       const GenerationCallbacks& callbacks, const std::atomic<bool>* cancel,
                                       GenerationStats* stats);

private:
  void validate(const std::vector<SequenceRequest>& requests) const;

  Session& session_;
  Detokenizer detokenizer_;
  int64_t vocab_ = 0;
};

}  // namespace lathe::runtime
