// lathe sample model.lathe --prompt-tokens 1,2,3 [--prompt-tokens 4,5 ...] [sampling options]
// Streams generated tokens to stdout; prefill and decode speeds go to stderr.
#include "Commands.h"

#include "Checkpoint.h"
#include "Npy.h"
#include "lathe/lathe.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace lathe::tool {
namespace {

struct SampleOptions {
  std::string artifact;
  std::string device = "cpu";
  std::vector<std::string> prompt_tokens;  // one per sequence
  std::vector<std::string> prompts;        // text; needs the artifact's tokenizer
  std::vector<std::string> stop_strings;   // ditto
  std::vector<int32_t> stop_tokens;
  int32_t max_new_tokens = 32;
  float temperature = 1.0f;
  int32_t top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  uint64_t seed = 0;
  bool greedy = false;
  std::string dump_tokens;
  std::string dump_logits;
  std::string checkpoint;  // trained parameters for a --train artifact
};

const char* finishName(lathe_finish_reason reason) {
  switch (reason) {
    case LATHE_FINISH_MAX_TOKENS: return "max_tokens";
    case LATHE_FINISH_STOP_TOKEN: return "stop_token";
    case LATHE_FINISH_STOP_STRING: return "stop_string";
    case LATHE_FINISH_CONTEXT_FULL: return "context_full";
    case LATHE_FINISH_CANCELLED: return "cancelled";
  }
  return "unknown";
}

template <typename T>
void writeJsonList(std::ostream& out, const std::vector<T>& values) {
  out << "[";
  for (size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  out << "]";
}

void dumpTokens(const std::string& path, const std::vector<std::vector<int32_t>>& prompts,
                const GenerationResult& result) {
  std::ostringstream json;
  json.precision(9);
  json << "{\n  \"sequences\": [\n";
  for (size_t b = 0; b < prompts.size(); ++b) {
    const GeneratedSequence& sequence = result.sequences[b];
    json << "    {\"prompt\": ";
    writeJsonList(json, prompts[b]);
    json << ", \"tokens\": ";
    writeJsonList(json, sequence.tokens);
    json << ", \"logprobs\": ";
    writeJsonList(json, sequence.logprobs);
    json << ", \"finish\": \"" << finishName(sequence.finish) << "\"}" << (b + 1 < prompts.size() ? "," : "") << "\n";
  }
  json << "  ]\n}\n";
  const std::string text = json.str();
  writeFileAtomically(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

/// The artifact's tokenizer, or nothing when it was compiled without one.
std::optional<Tokenizer> tokenizerOf(const Artifact& artifact) {
  try {
    return Tokenizer::fromArtifact(artifact);
  } catch (const RuntimeError& e) {
    if (e.status() == LATHE_ERROR_NOT_FOUND) return std::nullopt;
    throw;
  }
}

/// Writes a checkpoint's trained parameters into the session's param.* states.
void loadTrainedParameters(Session& session, const Artifact& artifact, const std::string& path) {
  const train::Checkpoint checkpoint = train::loadCheckpoint(path);
  if (checkpoint.model_json != artifact.modelJson())
    throw std::runtime_error(path + ": the checkpoint was trained from a different model than the artifact's");
  size_t loaded = 0;
  for (const StateInfo& state : artifact.states()) {
    if (state.kind != LATHE_STATE_PARAMETER) continue;
    auto it = checkpoint.tensors.find(state.name);
    if (it == checkpoint.tensors.end() || it->second.values.size() * sizeof(float) != state.bytes)
      throw std::runtime_error(path + ": no tensor of " + std::to_string(state.bytes) + " bytes for state '" +
                               state.name + "'");
    session.writeState(state.name, it->second.values.data(), state.bytes);
    ++loaded;
  }
  if (loaded == 0)
    throw std::runtime_error("--checkpoint: the artifact has no parameter states; compile it with --train");
}

void sample(const SampleOptions& options) {
  Artifact artifact(options.artifact);
  std::optional<Tokenizer> tokenizer = tokenizerOf(artifact);
  if (!tokenizer && (!options.prompts.empty() || !options.stop_strings.empty())) {
    throw std::runtime_error(std::string(options.prompts.empty() ? "--stop" : "--prompt") +
                             ": artifact has no tokenizer ('" + options.artifact +
                             "'); compile it with --tokenizer, or give --prompt-tokens");
  }
  std::vector<std::vector<int32_t>> prompts;
  for (const std::string& list : options.prompt_tokens) prompts.push_back(parseTokenList(list, "--prompt-tokens"));
  for (const std::string& text : options.prompts) {
    prompts.push_back(tokenizer->encode(text));
    if (prompts.back().empty()) throw std::runtime_error("--prompt: the text encodes to no tokens");
  }
  std::vector<const char*> stop_strings;
  for (const std::string& stop : options.stop_strings) stop_strings.push_back(stop.c_str());

  Sampling sampling;
  sampling.greedy = options.greedy ? 1 : 0;
  sampling.temperature = options.temperature;
  sampling.top_k = options.top_k;
  sampling.top_p = options.top_p;
  sampling.min_p = options.min_p;
  sampling.repetition_penalty = options.repetition_penalty;
  sampling.presence_penalty = options.presence_penalty;
  sampling.seed = options.seed;
  sampling.max_new_tokens = options.max_new_tokens;
  sampling.stop_tokens = options.stop_tokens.data();
  sampling.stop_token_count = options.stop_tokens.size();
  sampling.stop_strings = stop_strings.data();
  sampling.stop_string_count = stop_strings.size();

  Session session(artifact, options.device);
  if (!options.checkpoint.empty()) loadTrainedParameters(session, artifact, options.checkpoint);
  std::vector<float> logits;  // (steps, B, V) for --dump-logits
  size_t vocab = 0;
  LogitsHandler on_logits;
  if (!options.dump_logits.empty()) {
    on_logits = [&](size_t, const float* step_logits, size_t batch, size_t step_vocab) {
      vocab = step_vocab;
      logits.insert(logits.end(), step_logits, step_logits + batch * step_vocab);
    };
  }
  // One sequence streams as it is generated (text with a tokenizer, ids
  // without); a batch prints one line per sequence and token.
  const bool batched = prompts.size() > 1;
  std::optional<TokenDecoder> decoder;
  if (tokenizer && !batched) decoder.emplace(*tokenizer);
  GenerationResult result = session.generate(
      prompts, {sampling},
      [&](size_t sequence, int32_t token, float) {
        if (decoder) std::cout << decoder->push(token);
        else if (batched && !tokenizer) std::cout << sequence << ": " << token << "\n";
        else std::cout << token << " ";
        std::cout.flush();
        return true;
      },
      on_logits);
  if (decoder) std::cout << decoder->finish();
  if (!batched) std::cout << std::endl;  // before the stats on stderr
  if (tokenizer && batched) {
    for (size_t b = 0; b < result.sequences.size(); ++b)
      std::cout << "[" << b << "] " << tokenizer->decode(result.sequences[b].tokens) << "\n";
  }

  if (!options.dump_logits.empty()) {
    const int64_t batch = static_cast<int64_t>(prompts.size());
    const int64_t steps = vocab == 0 ? 0 : static_cast<int64_t>(logits.size() / (batch * vocab));
    npy::writeFloat32(options.dump_logits, {steps, batch, static_cast<int64_t>(vocab)}, logits.data());
  }
  if (!options.dump_tokens.empty()) dumpTokens(options.dump_tokens, prompts, result);
  const lathe_generation_stats& s = result.stats;
  std::fprintf(stderr, "lathe: prefill %lld tokens in %.2f ms (%.1f tokens/s); decode %lld tokens in %.2f ms (%.1f tokens/s)\n",
               static_cast<long long>(s.prefill_tokens), s.prefill_seconds * 1e3,
               s.prefill_seconds > 0 ? s.prefill_tokens / s.prefill_seconds : 0.0,
               static_cast<long long>(s.decode_tokens), s.decode_seconds * 1e3,
               s.decode_seconds > 0 ? s.decode_tokens / s.decode_seconds : 0.0);
}

}  // namespace

void addSampleCommand(CLI::App& app) {
  auto o = std::make_shared<SampleOptions>();
  CLI::App* cmd = app.add_subcommand("sample", "Generate tokens with the KV cache (prefill + decode)");
  cmd->add_option("artifact", o->artifact, "artifact compiled with --infer")->required();
  cmd->add_option("--device", o->device, "cpu")->capture_default_str();
  auto* tokens = cmd->add_option("--prompt-tokens", o->prompt_tokens,
                                 "comma-separated prompt token ids; repeat for a batch of prompts");
  auto* text = cmd->add_option("--prompt", o->prompts, "prompt text (needs the artifact's tokenizer)");
  tokens->excludes(text);
  cmd->add_option("--stop", o->stop_strings, "stop string (needs the artifact's tokenizer); repeatable");
  cmd->add_option("--stop-token", o->stop_tokens, "token id that ends a sequence; repeatable");
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "tokens to generate per sequence")->capture_default_str();
  cmd->add_option("--temperature", o->temperature, "softmax temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "keep the k most probable tokens (0: off)")->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "nucleus: smallest set with this much mass (1: off)")->capture_default_str();
  cmd->add_option("--min-p", o->min_p, "drop tokens below min-p x the top probability (0: off)")->capture_default_str();
  cmd->add_option("--repetition-penalty", o->repetition_penalty, "CTRL-style penalty on seen tokens (1: off)")
      ->capture_default_str();
  cmd->add_option("--presence-penalty", o->presence_penalty, "subtracted from seen tokens' logits (0: off)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "random seed (same seed, same tokens)")->capture_default_str();
  cmd->add_flag("--greedy", o->greedy, "always take the most probable token");
  cmd->add_option("--checkpoint", o->checkpoint,
                  "sample with the trained parameters of a `lathe train` checkpoint (artifact compiled with --train)");
  cmd->add_option("--dump-tokens", o->dump_tokens, "write prompts, tokens, log-probs and finish reasons as JSON");
  cmd->add_option("--dump-logits", o->dump_logits, "write the (steps, B, V) float32 logits of every step to .npy");
  cmd->callback([o] {
    if (o->prompt_tokens.empty() && o->prompts.empty()) throw std::runtime_error("give --prompt-tokens or --prompt");
    sample(*o);
  });
}

}  // namespace lathe::tool
