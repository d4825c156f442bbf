#include "Generator.h"

#include <algorithm>
#include <chrono>

#include "Error.h"

namespace lathe::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Error badRequest(const std::string& message) { return Error(LATHE_ERROR_INVALID_ARGUMENT, message); }

bool hasEntryPoint(const Artifact& artifact, const char* name) {
  for (size_t i = 0; i < artifact.entryPointCount(); ++i) {
    if (artifact.entryPoint(i).name()->str() == name) return true;
  }
  return false;
}

// One sequence in flight.
struct Active {
  Sampler sampler;
  std::vector<int32_t> seen;  // prompt and generated tokens, for the penalties
  std::string text;           // detokenized output, for stop strings
  int32_t position = 0;       // where the next decoded token goes
  bool done = false;
};

}  // namespace

Generator::Generator(Session& session, Detokenizer detokenizer)
    : session_(session), detokenizer_(std::move(detokenizer)) {
  const Artifact& artifact = session_.artifact();
  if (!hasEntryPoint(artifact, "prefill") || !hasEntryPoint(artifact, "decode")) {
    throw Error(LATHE_ERROR_UNSUPPORTED,
                "the artifact has no prefill/decode entry points; compile it with `lathe compile --infer`");
  }
  const size_t decode = artifact.entryPointIndex("decode");
  vocab_ = artifact.entryPoint(decode).outputs()->Get(0)->shape()->Get(1)->coefficient();
}

void Generator::validate(const std::vector<SequenceRequest>& requests) const {
  const Artifact& artifact = session_.artifact();
  if (requests.empty()) throw badRequest("generation needs at least one prompt");
  if (static_cast<int64_t>(requests.size()) > artifact.maxBatch()) {
    throw badRequest("batch of " + std::to_string(requests.size()) + " prompts exceeds the artifact's max_batch " +
                     std::to_string(artifact.maxBatch()) + " (set at compile time with --max-batch)");
  }
  for (size_t b = 0; b < requests.size(); ++b) {
    const SequenceRequest& r = requests[b];
    const std::string where = "prompt " + std::to_string(b);
    if (r.prompt.empty()) throw badRequest(where + " is empty");
    if (static_cast<int64_t>(r.prompt.size()) > artifact.maxSeq()) {
      throw badRequest(where + " has " + std::to_string(r.prompt.size()) +
                       " tokens, more than the artifact's context of " + std::to_string(artifact.maxSeq()) +
                       " (max_seq)");
    }
    for (size_t i = 0; i < r.prompt.size(); ++i) {
      if (r.prompt[i] < 0 || r.prompt[i] >= vocab_) {
        throw badRequest(where + ", token " + std::to_string(i) + ": id " + std::to_string(r.prompt[i]) +
                         " is out of range [0, " + std::to_string(vocab_) + ")");
      }
    }
    if (r.max_new_tokens < 1) {
      throw badRequest(where + ": max_new_tokens must be >= 1, got " + std::to_string(r.max_new_tokens));
    }
    if (!r.stop_strings.empty() && !detokenizer_) {
      throw Error(LATHE_ERROR_UNSUPPORTED, where + ": stop strings need a tokenizer, and the artifact has no tokenizer");
    }
    validateSampling(r.sampling, ("sampling settings of " + where).c_str());
  }
}

std::vector<SequenceResult> Generator::generate(const std::vector<SequenceRequest>& requests,
                                                const GenerationCallbacks& callbacks, const std::atomic<bool>* cancel,
                                                GenerationStats* stats) {
  validate(requests);
  GenerationStats local_stats;
  GenerationStats& s = stats != nullptr ? *stats : local_stats;
  s = GenerationStats{};
  const int64_t B = static_cast<int64_t>(requests.size());
  int64_t T = 0;
  for (const SequenceRequest& r : requests) T = std::max<int64_t>(T, static_cast<int64_t>(r.prompt.size()));

  std::vector<Active> active;
  std::vector<SequenceResult> results(requests.size());
  std::vector<int32_t> padded(static_cast<size_t>(B * T), 0), lengths(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const SequenceRequest& r = requests[static_cast<size_t>(b)];
    std::copy(r.prompt.begin(), r.prompt.end(), padded.begin() + b * T);
    lengths[static_cast<size_t>(b)] = static_cast<int32_t>(r.prompt.size());
    active.push_back({Sampler(r.sampling), r.prompt, "", lengths[static_cast<size_t>(b)], false});
    s.prefill_tokens += static_cast<int64_t>(r.prompt.size());
  }

  std::vector<float> logits(static_cast<size_t>(B * vocab_));
  auto start = Clock::now();
  session_.setInput("prefill", "tokens", fb::DType::I32, {B, T}, padded.data());
  session_.setInput("prefill", "lengths", fb::DType::I32, {B}, lengths.data());
  session_.run("prefill");
  session_.readOutput("prefill", "logits", logits.data(), logits.size() * sizeof(float));
  s.prefill_seconds = secondsSince(start);

  bool cancelled = false;
  // Samples the next token of every live sequence from `logits`.
  auto advance = [&](size_t step) {
    if (callbacks.on_logits) callbacks.on_logits(step, logits.data(), static_cast<size_t>(B), static_cast<size_t>(vocab_));
    for (int64_t b = 0; b < B; ++b) {
      Active& a = active[static_cast<size_t>(b)];
      if (a.done) continue;
      const SequenceRequest& r = requests[static_cast<size_t>(b)];
      SequenceResult& out = results[static_cast<size_t>(b)];
      const float* row = logits.data() + b * vocab_;
      const int32_t token = a.sampler.sample(row, vocab_, a.seen);
      out.tokens.push_back(token);
      out.logprobs.push_back(tokenLogProb(row, vocab_, token));
      a.seen.push_back(token);
      if (callbacks.on_token && !callbacks.on_token(static_cast<size_t>(b), token, out.logprobs.back())) {
        cancelled = true;
      }
      if (std::find(r.stop_tokens.begin(), r.stop_tokens.end(), token) != r.stop_tokens.end()) {
        a.done = true;
        out.finish = FinishReason::StopToken;
      }
      if (!a.done && detokenizer_ && !r.stop_strings.empty()) {
        a.text += detokenizer_(token);
        for (const std::string& stop : r.stop_strings) {
          if (!stop.empty() && a.text.find(stop) != std::string::npos) {
            a.done = true;
            out.finish = FinishReason::StopString;
          }
        }
      }
      if (!a.done && static_cast<int32_t>(out.tokens.size()) >= r.max_new_tokens) {
        a.done = true;
        out.finish = FinishReason::MaxTokens;
      }
      if (!a.done && a.position >= session_.artifact().maxSeq()) {
        a.done = true;
        out.finish = FinishReason::ContextFull;
      }
    }
  };
  advance(0);

  std::vector<int32_t> tokens(static_cast<size_t>(B)), positions(static_cast<size_t>(B));
  for (size_t step = 1;; ++step) {
    cancelled = cancelled || (cancel != nullptr && cancel->load());
    const bool any_live = std::any_of(active.begin(), active.end(), [](const Active& a) { return !a.done; });
    if (!any_live || cancelled) break;
    int64_t live = 0;
    for (int64_t b = 0; b < B; ++b) {
      Active& a = active[static_cast<size_t>(b)];
      // A finished sequence rides along at a fixed position; its cache rows no longer matter.
      tokens[static_cast<size_t>(b)] = a.seen.back();
      positions[static_cast<size_t>(b)] = std::min<int32_t>(a.position, static_cast<int32_t>(session_.artifact().maxSeq() - 1));
      live += a.done ? 0 : 1;
    }
    start = Clock::now();
    session_.setInput("decode", "tokens", fb::DType::I32, {B, 1}, tokens.data());
    session_.setInput("decode", "positions", fb::DType::I32, {B}, positions.data());
    session_.run("decode");
    session_.readOutput("decode", "logits", logits.data(), logits.size() * sizeof(float));
    s.decode_seconds += secondsSince(start);
    s.decode_tokens += live;
    for (Active& a : active) a.position += a.done ? 0 : 1;
    advance(step);
  }
  if (cancelled) {
    for (size_t b = 0; b < results.size(); ++b) {
      if (!active[b].done) results[b].finish = FinishReason::Cancelled;
    }
  }
  return results;
}

}  // namespace lathe::runtime
