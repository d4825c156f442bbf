// Lathe runtime C++ API: RAII wrappers over the C API (lathe.h). Failures
// throw lathe::RuntimeError carrying the C status and message.
//
//   lathe::Artifact artifact("gpt.lathe");
//   lathe::Session session(artifact, "cpu");
//   session.setInput("forward", "tokens", {B, T}, ids);       // std::vector<int32_t>
//   session.run("forward");
//   std::vector<float> logits = session.output<float>("forward", "logits");
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
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

  /// Zeroes the KV cache.
  void reset() { detail::check(lathe_session_reset(handle_.get())); }
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

}  // namespace lathe
