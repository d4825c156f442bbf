// The C API over the runtime's C++ classes. Every entry point catches all
// exceptions: failures become a status plus a thread-local message.
#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "Artifact.h"
#include "ArtifactVerifier.h"
#include "CApiGuard.h"
#include "TokenizerHandle.h"
#include "Error.h"
#include "Generator.h"
#include "Session.h"
#include "lathe/lathe.h"

using lathe::runtime::Artifact;
using lathe::runtime::Error;
using lathe::runtime::Session;
using lathe::runtime::capi::guarded;
using lathe::runtime::capi::last_error;
using lathe::runtime::capi::require;
namespace fb = lathe::fb;

struct lathe_artifact {
  std::shared_ptr<const Artifact> artifact;
  // Symbolic shape strings handed out by the info queries: [entry][input..., output...].
  std::vector<std::vector<std::string>> shape_strings;
};

struct lathe_session {
  std::unique_ptr<Session> session;
  std::atomic<bool> cancel{false};
};

struct lathe_generation {
  std::vector<lathe::runtime::SequenceResult> results;
  lathe::runtime::GenerationStats stats;
};

namespace {

lathe_artifact* wrap(std::shared_ptr<const Artifact> artifact) {
  auto handle = std::make_unique<lathe_artifact>();
  for (size_t e = 0; e < artifact->entryPointCount(); ++e) {
    const fb::EntryPoint& entry = artifact->entryPoint(e);
    std::vector<std::string> shapes;
    if (entry.inputs() != nullptr) {
      for (const fb::TensorSpec* spec : *entry.inputs()) shapes.push_back(Artifact::shapeString(*spec));
    }
    for (const fb::TensorSpec* spec : *entry.outputs()) shapes.push_back(Artifact::shapeString(*spec));
    handle->shape_strings.push_back(std::move(shapes));
  }
  handle->artifact = std::move(artifact);
  return handle.release();
}

const flatbuffers::Vector<flatbuffers::Offset<fb::TensorSpec>>* tensorList(const fb::EntryPoint& entry, bool inputs) {
  return inputs ? entry.inputs() : entry.outputs();
}

lathe_status tensorCount(const lathe_artifact* artifact, const char* entry, bool inputs, size_t* count) {
  return guarded([&] {
    require(artifact, "artifact");
    require(entry, "entry");
    require(count, "count");
    const Artifact& a = *artifact->artifact;
    const auto* list = tensorList(a.entryPoint(a.entryPointIndex(entry)), inputs);
    *count = list == nullptr ? 0 : list->size();
  });
}

lathe_status tensorInfo(const lathe_artifact* artifact, const char* entry, size_t index, bool inputs,
                        const char** name, lathe_dtype* dtype, const char** shape) {
  return guarded([&] {
    require(artifact, "artifact");
    require(entry, "entry");
    const Artifact& a = *artifact->artifact;
    const size_t e = a.entryPointIndex(entry);
    const fb::EntryPoint& entry_point = a.entryPoint(e);
    const auto* list = tensorList(entry_point, inputs);
    const size_t count = list == nullptr ? 0 : list->size();
    if (index >= count) {
      throw Error(LATHE_ERROR_NOT_FOUND, std::string(inputs ? "input" : "output") + " index " + std::to_string(index) +
                                             " is out of range; entry point '" + entry + "' has " +
                                             std::to_string(count));
    }
    const fb::TensorSpec& spec = *list->Get(static_cast<flatbuffers::uoffset_t>(index));
    const size_t input_count = entry_point.inputs() == nullptr ? 0 : entry_point.inputs()->size();
    if (name != nullptr) *name = spec.name()->c_str();
    if (dtype != nullptr) *dtype = static_cast<lathe_dtype>(spec.dtype());
    if (shape != nullptr) *shape = artifact->shape_strings[e][inputs ? index : input_count + index].c_str();
  });
}

const char* stringOr(const flatbuffers::String* text) { return text == nullptr ? "" : text->c_str(); }

}  // namespace

extern "C" {

LATHE_API const char* lathe_last_error(void) { return last_error.c_str(); }

LATHE_API const char* lathe_status_name(lathe_status status) {
  switch (status) {
    case LATHE_OK: return "LATHE_OK";
    case LATHE_ERROR_INVALID_ARGUMENT: return "LATHE_ERROR_INVALID_ARGUMENT";
    case LATHE_ERROR_NOT_FOUND: return "LATHE_ERROR_NOT_FOUND";
    case LATHE_ERROR_IO: return "LATHE_ERROR_IO";
    case LATHE_ERROR_INVALID_ARTIFACT: return "LATHE_ERROR_INVALID_ARTIFACT";
    case LATHE_ERROR_UNSUPPORTED: return "LATHE_ERROR_UNSUPPORTED";
    case LATHE_ERROR_OUT_OF_MEMORY: return "LATHE_ERROR_OUT_OF_MEMORY";
    case LATHE_ERROR_INVALID_STATE: return "LATHE_ERROR_INVALID_STATE";
    case LATHE_ERROR_INTERNAL: return "LATHE_ERROR_INTERNAL";
  }
  return "LATHE_STATUS_UNKNOWN";
}

LATHE_API uint32_t lathe_schema_version(void) { return lathe::runtime::kSchemaVersion; }

LATHE_API lathe_status lathe_artifact_open(const char* path, lathe_artifact** out) {
  return guarded([&] {
    require(path, "path");
    require(out, "out");
    *out = nullptr;
    *out = wrap(Artifact::openFile(path));
  });
}

LATHE_API lathe_status lathe_artifact_open_memory(const void* data, size_t size, lathe_artifact** out) {
  return guarded([&] {
    require(out, "out");
    *out = nullptr;
    *out = wrap(Artifact::openMemory(data, size));
  });
}

LATHE_API void lathe_artifact_close(lathe_artifact* artifact) { delete artifact; }

LATHE_API const char* lathe_artifact_target(const lathe_artifact* artifact) {
  return artifact ? stringOr(artifact->artifact->root().target()) : nullptr;
}
LATHE_API const char* lathe_artifact_producer(const lathe_artifact* artifact) {
  return artifact ? stringOr(artifact->artifact->root().producer()) : nullptr;
}
LATHE_API const char* lathe_artifact_model_json(const lathe_artifact* artifact) {
  return artifact ? stringOr(artifact->artifact->root().model_json()) : nullptr;
}
LATHE_API int64_t lathe_artifact_max_batch(const lathe_artifact* artifact) {
  return artifact ? artifact->artifact->maxBatch() : 0;
}
LATHE_API int64_t lathe_artifact_max_seq(const lathe_artifact* artifact) {
  return artifact ? artifact->artifact->maxSeq() : 0;
}
LATHE_API size_t lathe_artifact_entry_point_count(const lathe_artifact* artifact) {
  return artifact ? artifact->artifact->entryPointCount() : 0;
}
LATHE_API const char* lathe_artifact_entry_point_name(const lathe_artifact* artifact, size_t index) {
  if (artifact == nullptr || index >= artifact->artifact->entryPointCount()) return nullptr;
  return artifact->artifact->entryPoint(index).name()->c_str();
}

LATHE_API lathe_status lathe_artifact_input_count(const lathe_artifact* artifact, const char* entry, size_t* count) {
  return tensorCount(artifact, entry, true, count);
}
LATHE_API lathe_status lathe_artifact_output_count(const lathe_artifact* artifact, const char* entry, size_t* count) {
  return tensorCount(artifact, entry, false, count);
}
LATHE_API lathe_status lathe_artifact_input_info(const lathe_artifact* artifact, const char* entry, size_t index,
                                                 const char** name, lathe_dtype* dtype, const char** shape) {
  return tensorInfo(artifact, entry, index, true, name, dtype, shape);
}
LATHE_API lathe_status lathe_artifact_output_info(const lathe_artifact* artifact, const char* entry, size_t index,
                                                  const char** name, lathe_dtype* dtype, const char** shape) {
  return tensorInfo(artifact, entry, index, false, name, dtype, shape);
}

LATHE_API lathe_status lathe_artifact_tokenizer(const lathe_artifact* artifact, lathe_tokenizer** out) {
  return guarded([&] {
    require(artifact, "artifact");
    require(out, "out");
    *out = nullptr;
    const auto& tokenizer = artifact->artifact->tokenizer();
    if (!tokenizer) {
      throw Error(LATHE_ERROR_NOT_FOUND,
                  "the artifact has no tokenizer (compile it with --tokenizer to include one)");
    }
    *out = new lathe_tokenizer{tokenizer};
  });
}

LATHE_API lathe_status lathe_session_create(const lathe_artifact* artifact, const char* device, lathe_session** out) {
  return guarded([&] {
    require(artifact, "artifact");
    require(device, "device");
    require(out, "out");
    *out = nullptr;
    auto session = std::make_unique<Session>(artifact->artifact, device);
    *out = new lathe_session;
    (*out)->session = std::move(session);
  });
}

LATHE_API void lathe_session_destroy(lathe_session* session) { delete session; }

LATHE_API lathe_status lathe_session_set_input(lathe_session* session, const char* entry, const char* name,
                                               lathe_dtype dtype, const int64_t* shape, size_t rank,
                                               const void* data) {
  return guarded([&] {
    require(session, "session");
    require(entry, "entry");
    require(name, "name");
    if (rank > 0) require(shape, "shape");
    if (lathe::runtime::dtypeSize(static_cast<fb::DType>(dtype)) == 0) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "unknown dtype " + std::to_string(static_cast<int>(dtype)));
    }
    session->session->setInput(entry, name, static_cast<fb::DType>(dtype), std::vector<int64_t>(shape, shape + rank),
                               data);
  });
}

LATHE_API lathe_status lathe_session_run(lathe_session* session, const char* entry) {
  return guarded([&] {
    require(session, "session");
    require(entry, "entry");
    session->session->run(entry);
  });
}

LATHE_API lathe_status lathe_session_set_profiling(lathe_session* session, int enabled) {
  return guarded([&] {
    require(session, "session");
    session->session->setProfiling(enabled != 0);
  });
}

LATHE_API lathe_status lathe_session_profile_count(const lathe_session* session, size_t* count) {
  return guarded([&] {
    require(session, "session");
    require(count, "count");
    *count = session->session->lastProfile().size();
  });
}

LATHE_API lathe_status lathe_session_profile(const lathe_session* session, size_t index, const char** name,
                                             const char** kind, double* microseconds) {
  return guarded([&] {
    require(session, "session");
    const auto& profile = session->session->lastProfile();
    if (index >= profile.size()) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "profile index " + std::to_string(index) + " is out of range (" +
                                                    std::to_string(profile.size()) + " dispatches)");
    }
    if (name != nullptr) *name = profile[index].name.c_str();
    if (kind != nullptr) *kind = profile[index].kind.c_str();
    if (microseconds != nullptr) *microseconds = profile[index].microseconds;
  });
}

LATHE_API lathe_status lathe_session_output_shape(const lathe_session* session, const char* entry, const char* name,
                                                  int64_t* shape_out, size_t* rank) {
  return guarded([&] {
    require(session, "session");
    require(entry, "entry");
    require(name, "name");
    require(rank, "rank");
    const std::vector<int64_t> shape = session->session->outputShape(entry, name);
    const size_t capacity = *rank;
    *rank = shape.size();
    if (capacity < shape.size()) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "output '" + std::string(name) + "' has rank " +
                                                    std::to_string(shape.size()) + "; shape_out holds only " +
                                                    std::to_string(capacity));
    }
    if (!shape.empty()) require(shape_out, "shape_out");
    std::copy(shape.begin(), shape.end(), shape_out);
  });
}

LATHE_API lathe_status lathe_session_read_output(const lathe_session* session, const char* entry, const char* name,
                                                 void* dst, size_t bytes) {
  return guarded([&] {
    require(session, "session");
    require(entry, "entry");
    require(name, "name");
    session->session->readOutput(entry, name, dst, bytes);
  });
}

LATHE_API lathe_status lathe_session_reset(lathe_session* session) {
  return guarded([&] {
    require(session, "session");
    session->session->resetStates();
  });
}

LATHE_API size_t lathe_artifact_state_count(const lathe_artifact* artifact) {
  return artifact ? artifact->artifact->stateCount() : 0;
}

LATHE_API lathe_status lathe_artifact_state_info(const lathe_artifact* artifact, size_t index, const char** name,
                                                 lathe_state_kind* kind, size_t* bytes, int64_t* shape,
                                                 size_t* rank) {
  return guarded([&] {
    require(artifact, "artifact");
    const Artifact& a = *artifact->artifact;
    if (index >= a.stateCount()) {
      throw Error(LATHE_ERROR_NOT_FOUND, "state " + std::to_string(index) + " is out of range; the artifact has " +
                                             std::to_string(a.stateCount()));
    }
    const fb::TensorSpec& spec = a.state(index);
    const size_t state_rank = spec.shape()->size();
    size_t size = lathe::runtime::dtypeSize(spec.dtype());
    for (const fb::Dim* dim : *spec.shape()) size *= static_cast<size_t>(dim->coefficient());  // fixed, verified
    if (rank != nullptr) {
      const size_t capacity = *rank;
      *rank = state_rank;
      if (capacity > 0 && capacity < state_rank) {
        throw Error(LATHE_ERROR_INVALID_ARGUMENT, "state '" + spec.name()->str() + "' has rank " +
                                                      std::to_string(state_rank) + "; shape holds only " +
                                                      std::to_string(capacity));
      }
      if (capacity > 0) {
        require(shape, "shape");
        for (size_t d = 0; d < state_rank; ++d) shape[d] = spec.shape()->Get(static_cast<flatbuffers::uoffset_t>(d))->coefficient();
      }
    }
    if (name != nullptr) *name = spec.name()->c_str();
    if (kind != nullptr) *kind = static_cast<lathe_state_kind>(spec.kind());
    if (bytes != nullptr) *bytes = size;
  });
}

LATHE_API lathe_status lathe_session_read_state(const lathe_session* session, const char* name, void* dst,
                                                size_t bytes) {
  return guarded([&] {
    require(session, "session");
    require(name, "name");
    session->session->readState(name, dst, bytes);
  });
}

LATHE_API lathe_status lathe_session_write_state(lathe_session* session, const char* name, const void* src,
                                                 size_t bytes) {
  return guarded([&] {
    require(session, "session");
    require(name, "name");
    session->session->writeState(name, src, bytes);
  });
}

LATHE_API void lathe_sampling_init(lathe_sampling* sampling) {
  if (sampling == nullptr) return;
  *sampling = lathe_sampling{};
  const lathe::runtime::SamplingParams defaults;
  sampling->temperature = defaults.temperature;
  sampling->top_p = defaults.top_p;
  sampling->repetition_penalty = defaults.repetition_penalty;
  sampling->max_new_tokens = 16;
}

namespace {
/// Stop strings match the bytes of the generated tokens, decoded with the
/// artifact's tokenizer; without one there is no detokenizer.
lathe::runtime::Detokenizer artifactDetokenizer(const lathe::runtime::Artifact& artifact) {
  std::shared_ptr<const lathe::tokenizer::Tokenizer> tokenizer = artifact.tokenizer();
  if (!tokenizer) return nullptr;
  return [tokenizer](int32_t token) { return std::string(tokenizer->tokenBytes(token)); };
}
}  // namespace

LATHE_API lathe_status lathe_generate(lathe_session* session, size_t batch, const int32_t* const* prompts,
                                      const size_t* prompt_lengths, const lathe_sampling* sampling,
                                      size_t sampling_count, const lathe_generation_callbacks* callbacks,
                                      lathe_generation** out) {
  return guarded([&] {
    require(session, "session");
    require(out, "out");
    *out = nullptr;
    if (batch > 0) {
      require(prompts, "prompts");
      require(prompt_lengths, "prompt_lengths");
    }
    require(sampling, "sampling");
    if (sampling_count != 1 && sampling_count != batch) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "sampling_count must be 1 or the batch (" + std::to_string(batch) +
                                                    "), got " + std::to_string(sampling_count));
    }
    std::vector<lathe::runtime::SequenceRequest> requests(batch);
    for (size_t b = 0; b < batch; ++b) {
      const lathe_sampling& c = sampling[sampling_count == 1 ? 0 : b];
      lathe::runtime::SequenceRequest& r = requests[b];
      if (prompt_lengths[b] > 0) require(prompts[b], "prompts[i]");
      r.prompt.assign(prompts[b], prompts[b] + prompt_lengths[b]);
      r.sampling = {c.greedy != 0, c.temperature, c.top_k, c.top_p, c.min_p, c.repetition_penalty,
                    c.presence_penalty, c.seed};
      r.max_new_tokens = c.max_new_tokens;
      if (c.stop_token_count > 0) require(c.stop_tokens, "stop_tokens");
      r.stop_tokens.assign(c.stop_tokens, c.stop_tokens + c.stop_token_count);
      for (size_t i = 0; i < c.stop_string_count; ++i) {
        require(c.stop_strings[i], "stop_strings[i]");
        r.stop_strings.emplace_back(c.stop_strings[i]);
      }
    }
    lathe::runtime::GenerationCallbacks hooks;
    if (callbacks != nullptr && callbacks->on_token != nullptr) {
      hooks.on_token = [callbacks](size_t sequence, int32_t token, float logprob) {
        return callbacks->on_token(callbacks->user, sequence, token, logprob) == 0;
      };
    }
    if (callbacks != nullptr && callbacks->on_logits != nullptr) {
      hooks.on_logits = [callbacks](size_t step, const float* logits, size_t rows, size_t vocab) {
        callbacks->on_logits(callbacks->user, step, logits, rows, vocab);
      };
    }
    session->cancel.store(false);
    auto generation = std::make_unique<lathe_generation>();
    lathe::runtime::Generator generator(*session->session, artifactDetokenizer(session->session->artifact()));
    generation->results = generator.generate(requests, hooks, &session->cancel, &generation->stats);
    *out = generation.release();
  });
}

LATHE_API void lathe_session_cancel(lathe_session* session) {
  if (session != nullptr) session->cancel.store(true);
}

LATHE_API size_t lathe_generation_batch(const lathe_generation* generation) {
  return generation ? generation->results.size() : 0;
}

namespace {
const lathe::runtime::SequenceResult& sequenceOf(const lathe_generation* generation, size_t sequence) {
  require(generation, "generation");
  if (sequence >= generation->results.size()) {
    throw Error(LATHE_ERROR_NOT_FOUND, "sequence " + std::to_string(sequence) + " is out of range; the generation has " +
                                           std::to_string(generation->results.size()));
  }
  return generation->results[sequence];
}
}  // namespace

LATHE_API lathe_status lathe_generation_tokens(const lathe_generation* generation, size_t sequence,
                                               const int32_t** tokens, const float** logprobs, size_t* count) {
  return guarded([&] {
    const lathe::runtime::SequenceResult& result = sequenceOf(generation, sequence);
    if (tokens != nullptr) *tokens = result.tokens.data();
    if (logprobs != nullptr) *logprobs = result.logprobs.data();
    if (count != nullptr) *count = result.tokens.size();
  });
}

LATHE_API lathe_status lathe_generation_finish_reason(const lathe_generation* generation, size_t sequence,
                                                      lathe_finish_reason* reason) {
  return guarded([&] {
    const lathe::runtime::SequenceResult& result = sequenceOf(generation, sequence);
    require(reason, "reason");
    *reason = static_cast<lathe_finish_reason>(result.finish);
  });
}

LATHE_API lathe_status lathe_generation_stats_get(const lathe_generation* generation, lathe_generation_stats* stats) {
  return guarded([&] {
    require(generation, "generation");
    require(stats, "stats");
    const lathe::runtime::GenerationStats& s = generation->stats;
    *stats = {s.prefill_tokens, s.prefill_seconds, s.decode_tokens, s.decode_seconds};
  });
}

LATHE_API void lathe_generation_free(lathe_generation* generation) { delete generation; }

}  // extern "C"
