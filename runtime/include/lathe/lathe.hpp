// Lathe runtime C++ API: RAII wrappers over the C API (lathe.h). Failures
// throw lathe::RuntimeError carrying the C status and message.
//
//   lathe::Artifact artifact("gpt.lathe");
//   lathe::Session session(artifact, "cpu");
//   session.setInput("forward", "tokens", {B, T}, ids);       // std::vector<int32_t>
//   session.run("forward");
//   std::vector<float> logits = session.output<float>("forward", "logits");
//
//   lathe::Tokenizer tokenizer = lathe::Tokenizer::fromArtifact(artifact);   // or Tokenizer::load("data/gpt2")
//   std::vector<int32_t> ids = tokenizer.encode("Hello world");
//   std::string text = tokenizer.decode(ids);
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lathe/lathe.h"

namespace lathe {

class RuntimeError : public std::runtime_error {
public:
  RuntimeError(lathe_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  lathe_status status() const { return status_; }

private:
  lathe_status status_;
};

namespace detail {
inline void check(lathe_status status) {
  if (status != LATHE_OK) throw RuntimeError(status, lathe_last_error());
}
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr lathe_dtype value = LATHE_DTYPE_F32; };
template <> struct DTypeOf<int32_t> { static constexpr lathe_dtype value = LATHE_DTYPE_I32; };
}  // namespace detail

/// An input or output of an entry point: name, dtype, symbolic shape ("[B, T]").
struct TensorInfo {
  std::string name;
  lathe_dtype dtype;
  std::string shape;
};

/// A session state (f32, fixed shape): a KV cache or a training tensor.
struct StateInfo {
  std::string name;
  lathe_state_kind kind;
  size_t bytes;
  std::vector<int64_t> shape;
};

class Artifact {
public:
  explicit Artifact(const std::string& path) {
    lathe_artifact* handle = nullptr;
    detail::check(lathe_artifact_open(path.c_str(), &handle));
    handle_.reset(handle, lathe_artifact_close);
  }
  /// Copies the bytes; `data` may be freed afterwards.
  static Artifact fromMemory(const void* data, size_t size) {
    lathe_artifact* handle = nullptr;
    detail::check(lathe_artifact_open_memory(data, size, &handle));
    return Artifact(handle);
  }

  std::string target() const { return lathe_artifact_target(get()); }
  std::string producer() const { return lathe_artifact_producer(get()); }
  std::string modelJson() const { return lathe_artifact_model_json(get()); }
  int64_t maxBatch() const { return lathe_artifact_max_batch(get()); }
  int64_t maxSeq() const { return lathe_artifact_max_seq(get()); }

  std::vector<std::string> entryPoints() const {
    std::vector<std::string> names;
    for (size_t i = 0; i < lathe_artifact_entry_point_count(get()); ++i) {
      names.emplace_back(lathe_artifact_entry_point_name(get(), i));
    }
    return names;
  }
  std::vector<TensorInfo> inputs(const std::string& entry) const {
    return tensors(entry, lathe_artifact_input_count, lathe_artifact_input_info);
  }
  std::vector<TensorInfo> outputs(const std::string& entry) const {
    return tensors(entry, lathe_artifact_output_count, lathe_artifact_output_info);
  }

  std::vector<StateInfo> states() const {
    std::vector<StateInfo> infos;
    for (size_t i = 0; i < lathe_artifact_state_count(get()); ++i) {
      StateInfo info;
      const char* name = nullptr;
      size_t rank = 0;
      detail::check(lathe_artifact_state_info(get(), i, &name, &info.kind, &info.bytes, nullptr, &rank));
      info.name = name;
      info.shape.resize(rank);
      if (rank > 0) detail::check(lathe_artifact_state_info(get(), i, nullptr, nullptr, nullptr, info.shape.data(), &rank));
      infos.push_back(std::move(info));
    }
    return infos;
  }

  const lathe_artifact* get() const { return handle_.get(); }

private:
  explicit Artifact(lathe_artifact* handle) : handle_(handle, lathe_artifact_close) {}

  using CountFn = lathe_status (*)(const lathe_artifact*, const char*, size_t*);
  using InfoFn = lathe_status (*)(const lathe_artifact*, const char*, size_t, const char**, lathe_dtype*,
                                  const char**);
  std::vector<TensorInfo> tensors(const std::string& entry, CountFn count_fn, InfoFn info_fn) const {
    size_t count = 0;
    detail::check(count_fn(get(), entry.c_str(), &count));
    std::vector<TensorInfo> infos;
    for (size_t i = 0; i < count; ++i) {
      const char* name = nullptr;
      const char* shape = nullptr;
      lathe_dtype dtype = LATHE_DTYPE_F32;
      detail::check(info_fn(get(), entry.c_str(), i, &name, &dtype, &shape));
      infos.push_back({name, dtype, shape});
    }
    return infos;
  }

  std::shared_ptr<lathe_artifact> handle_;
};

/// lathe_sampling with its defaults; set fields directly.
struct Sampling : lathe_sampling {
  Sampling() { lathe_sampling_init(this); }
};

struct GeneratedSequence {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
  lathe_finish_reason finish;
};

struct GenerationResult {
  std::vector<GeneratedSequence> sequences;
  lathe_generation_stats stats;
};

/// Return false to cancel the generation.
using TokenHandler = std::function<bool(size_t sequence, int32_t token, float logprob)>;
using LogitsHandler = std::function<void(size_t step, const float* logits, size_t batch, size_t vocab)>;

/// One dispatch of a profiled run.
struct DispatchTime {
  std::string name;  // the dispatch, e.g. "layers.0.attn.q"
  std::string kind;  // its kernel kind, e.g. "Gemm"
  double microseconds = 0;
};

/// Not thread-safe: one session per thread (cancel() excepted). Keeps its artifact alive.
class Session {
public:
  explicit Session(const Artifact& artifact, const std::string& device = "cpu") {
    lathe_session* handle = nullptr;
    detail::check(lathe_session_create(artifact.get(), device.c_str(), &handle));
    handle_.reset(handle);
  }

  void setInput(const std::string& entry, const std::string& name, lathe_dtype dtype,
                const std::vector<int64_t>& shape, const void* data) {
    detail::check(lathe_session_set_input(handle_.get(), entry.c_str(), name.c_str(), dtype, shape.data(),
                                          shape.size(), data));
  }
  /// T is float or int32_t; `values` is row-major with `shape`.
  template <typename T>
  void setInput(const std::string& entry, const std::string& name, const std::vector<int64_t>& shape,
                const std::vector<T>& values) {
    int64_t count = 1;
    for (int64_t extent : shape) count *= extent;
    if (count != static_cast<int64_t>(values.size())) {
      throw RuntimeError(LATHE_ERROR_INVALID_ARGUMENT, "input '" + name + "': shape holds " + std::to_string(count) +
                                                           " elements, but " + std::to_string(values.size()) +
                                                           " values were given");
    }
    setInput(entry, name, detail::DTypeOf<T>::value, shape, values.data());
  }

  void run(const std::string& entry = "forward") { detail::check(lathe_session_run(handle_.get(), entry.c_str())); }

  std::vector<int64_t> outputShape(const std::string& entry, const std::string& name) const {
    std::vector<int64_t> shape(8);
    size_t rank = shape.size();
    lathe_status status = lathe_session_output_shape(handle_.get(), entry.c_str(), name.c_str(), shape.data(), &rank);
    if (status == LATHE_ERROR_INVALID_ARGUMENT && rank > shape.size()) {
      shape.resize(rank);
      status = lathe_session_output_shape(handle_.get(), entry.c_str(), name.c_str(), shape.data(), &rank);
    }
    detail::check(status);
    shape.resize(rank);
    return shape;
  }

  void readOutput(const std::string& entry, const std::string& name, void* dst, size_t bytes) const {
    detail::check(lathe_session_read_output(handle_.get(), entry.c_str(), name.c_str(), dst, bytes));
  }
  /// The output of the last run, row-major; see outputShape() for its shape.
  template <typename T>
  std::vector<T> output(const std::string& entry, const std::string& name) const {
    int64_t count = 1;
    for (int64_t extent : outputShape(entry, name)) count *= extent;
    std::vector<T> values(static_cast<size_t>(count));
    readOutput(entry, name, values.data(), values.size() * sizeof(T));
    return values;
  }

  /// Zeroes the KV cache (training states are kept).
  void reset() { detail::check(lathe_session_reset(handle_.get())); }

  /// Whole states in and out; `bytes` must equal the state's size.
  void readState(const std::string& name, void* dst, size_t bytes) const {
    detail::check(lathe_session_read_state(handle_.get(), name.c_str(), dst, bytes));
  }
  void writeState(const std::string& name, const void* src, size_t bytes) {
    detail::check(lathe_session_write_state(handle_.get(), name.c_str(), src, bytes));
  }
  /// Per-dispatch times of later runs; see profile().
  void setProfiling(bool enabled) { detail::check(lathe_session_set_profiling(handle_.get(), enabled ? 1 : 0)); }
  /// The dispatch times of the last run made while profiling, in dispatch order.
  std::vector<DispatchTime> profile() const {
    size_t count = 0;
    detail::check(lathe_session_profile_count(handle_.get(), &count));
    std::vector<DispatchTime> times(count);
    for (size_t i = 0; i < count; ++i) {
      const char* name = nullptr;
      const char* kind = nullptr;
      detail::check(lathe_session_profile(handle_.get(), i, &name, &kind, &times[i].microseconds));
      times[i].name = name;
      times[i].kind = kind;
    }
    return times;
  }

  /// Cancels a running generate() from another thread.
  void cancel() { lathe_session_cancel(handle_.get()); }

  /// `sampling`: one entry for all prompts or one per prompt. Exceptions
  /// thrown by the handlers cancel the generation and are rethrown here.
  GenerationResult generate(const std::vector<std::vector<int32_t>>& prompts, const std::vector<Sampling>& sampling,
                            TokenHandler on_token = {}, LogitsHandler on_logits = {}) {
    struct Context {
      TokenHandler on_token;
      LogitsHandler on_logits;
      std::exception_ptr error;
    } context{std::move(on_token), std::move(on_logits), nullptr};
    lathe_generation_callbacks callbacks{};
    callbacks.user = &context;
    if (context.on_token) {
      callbacks.on_token = [](void* user, size_t sequence, int32_t token, float logprob) -> int {
        auto* c = static_cast<Context*>(user);
        try {
          return c->on_token(sequence, token, logprob) ? 0 : 1;
        } catch (...) {
          c->error = std::current_exception();
          return 1;
        }
      };
    }
    if (context.on_logits) {
      callbacks.on_logits = [](void* user, size_t step, const float* logits, size_t batch, size_t vocab) {
        auto* c = static_cast<Context*>(user);
        if (c->error) return;
        try {
          c->on_logits(step, logits, batch, vocab);
        } catch (...) {
          c->error = std::current_exception();
        }
      };
    }
    std::vector<const int32_t*> data;
    std::vector<size_t> lengths;
    for (const auto& prompt : prompts) {
      data.push_back(prompt.data());
      lengths.push_back(prompt.size());
    }
    std::vector<lathe_sampling> settings(sampling.begin(), sampling.end());
    lathe_generation* raw = nullptr;
    const lathe_status status = lathe_generate(handle_.get(), prompts.size(), data.data(), lengths.data(),
                                               settings.data(), settings.size(), &callbacks, &raw);
    std::unique_ptr<lathe_generation, void (*)(lathe_generation*)> generation(raw, lathe_generation_free);
    if (context.error) std::rethrow_exception(context.error);
    detail::check(status);
    GenerationResult result;
    detail::check(lathe_generation_stats_get(raw, &result.stats));
    for (size_t b = 0; b < lathe_generation_batch(raw); ++b) {
      const int32_t* tokens = nullptr;
      const float* logprobs = nullptr;
      size_t count = 0;
      GeneratedSequence sequence;
      detail::check(lathe_generation_tokens(raw, b, &tokens, &logprobs, &count));
      detail::check(lathe_generation_finish_reason(raw, b, &sequence.finish));
      sequence.tokens.assign(tokens, tokens + count);
      sequence.logprobs.assign(logprobs, logprobs + count);
      result.sequences.push_back(std::move(sequence));
    }
    return result;
  }

  lathe_session* get() const { return handle_.get(); }

private:
  struct Destroy {
    void operator()(lathe_session* session) const { lathe_session_destroy(session); }
  };
  std::unique_ptr<lathe_session, Destroy> handle_;
};

/// A byte-level BPE tokenizer (GPT-2 compatible). Immutable; copies share it.
class Tokenizer {
public:
  /// A directory (encoder.json + vocab.bpe, vocab.json + merges.txt, tokenizer.json) or a tokenizer.json file.
  static Tokenizer load(const std::string& path) {
    lathe_tokenizer* handle = nullptr;
    detail::check(lathe_tokenizer_load(path.c_str(), &handle));
    return Tokenizer(handle);
  }
  static Tokenizer fromGpt2Memory(const std::string& encoder_json, const std::string& merges) {
    lathe_tokenizer* handle = nullptr;
    detail::check(lathe_tokenizer_load_gpt2_memory(encoder_json.data(), encoder_json.size(), merges.data(),
                                                   merges.size(), &handle));
    return Tokenizer(handle);
  }
  static Tokenizer fromHuggingFaceMemory(const std::string& tokenizer_json) {
    lathe_tokenizer* handle = nullptr;
    detail::check(lathe_tokenizer_load_hf_memory(tokenizer_json.data(), tokenizer_json.size(), &handle));
    return Tokenizer(handle);
  }
  /// Throws RuntimeError with LATHE_ERROR_NOT_FOUND when the artifact has none.
  static Tokenizer fromArtifact(const Artifact& artifact) {
    lathe_tokenizer* handle = nullptr;
    detail::check(lathe_artifact_tokenizer(artifact.get(), &handle));
    return Tokenizer(handle);
  }
  static Tokenizer train(const std::vector<std::string>& paths, size_t vocab_size,
                         const std::vector<std::string>& special_tokens = {"<|endoftext|>"}) {
    std::vector<const char*> path_pointers, special_pointers;
    for (const std::string& path : paths) path_pointers.push_back(path.c_str());
    for (const std::string& special : special_tokens) special_pointers.push_back(special.c_str());
    lathe_tokenizer* handle = nullptr;
    detail::check(lathe_tokenizer_train(path_pointers.data(), path_pointers.size(), vocab_size,
                                        special_pointers.data(), special_pointers.size(), &handle));
    return Tokenizer(handle);
  }

  void save(const std::string& dir) const { detail::check(lathe_tokenizer_save(get(), dir.c_str())); }

  /// With `allow_special` false, "<|endoftext|>" in the text is encoded as ordinary text.
  std::vector<int32_t> encode(const std::string& text, bool allow_special = true) const {
    std::vector<int32_t> ids(text.size());
    size_t count = 0;
    detail::check(lathe_tokenizer_encode(get(), text.data(), text.size(),
                                         allow_special ? 0u : LATHE_ENCODE_SPECIAL_AS_TEXT, ids.data(), ids.size(),
                                         &count));
    ids.resize(count);
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids) const {
    size_t size = 0;
    lathe_status status = lathe_tokenizer_decode(get(), ids.data(), ids.size(), nullptr, 0, &size);
    if (status != LATHE_OK && size == 0) detail::check(status);
    std::string text(size, '\0');
    detail::check(lathe_tokenizer_decode(get(), ids.data(), ids.size(), text.data(), text.size(), &size));
    return text;
  }

  size_t tokenCount() const { return lathe_tokenizer_token_count(get()); }
  size_t mergeCount() const { return lathe_tokenizer_merge_count(get()); }
  std::string tokenBytes(int32_t id) const {
    const char* bytes = nullptr;
    size_t size = 0;
    detail::check(lathe_tokenizer_token(get(), id, &bytes, &size, nullptr));
    return std::string(bytes, size);
  }
  bool isSpecial(int32_t id) const {
    int special = 0;
    detail::check(lathe_tokenizer_token(get(), id, nullptr, nullptr, &special));
    return special != 0;
  }
  std::pair<int32_t, int32_t> merge(size_t rank) const {
    int32_t left = 0, right = 0;
    detail::check(lathe_tokenizer_merge(get(), rank, &left, &right));
    return {left, right};
  }
  /// -1 when there is no such special token.
  int32_t specialId(const std::string& text) const { return lathe_tokenizer_special_id(get(), text.c_str()); }

  const lathe_tokenizer* get() const { return handle_.get(); }

private:
  explicit Tokenizer(lathe_tokenizer* handle) : handle_(handle, lathe_tokenizer_free) {}
  std::shared_ptr<lathe_tokenizer> handle_;
};

/// Streaming decode: push(id) returns the text completed by that token.
class TokenDecoder {
public:
  explicit TokenDecoder(const Tokenizer& tokenizer) {
    lathe_token_decoder* handle = nullptr;
    detail::check(lathe_token_decoder_create(tokenizer.get(), &handle));
    handle_.reset(handle);
  }
  std::string push(int32_t id) {
    const char* text = nullptr;
    size_t size = 0;
    detail::check(lathe_token_decoder_push(handle_.get(), id, &text, &size));
    return std::string(text, size);
  }
  /// The bytes still held back (an incomplete character at the end).
  std::string finish() {
    const char* text = nullptr;
    size_t size = 0;
    detail::check(lathe_token_decoder_finish(handle_.get(), &text, &size));
    return std::string(text, size);
  }

private:
  struct Free {
    void operator()(lathe_token_decoder* decoder) const { lathe_token_decoder_free(decoder); }
  };
  std::unique_ptr<lathe_token_decoder, Free> handle_;
};

}  // namespace lathe
