/* Lathe runtime C API: load a compiled artifact (.lathe), create a session on
 * a device, set inputs, run an entry point, read outputs.
 *
 * Every function that can fail returns a lathe_status; on failure the reason
 * is in lathe_last_error() (per thread, valid until the next failing call on
 * that thread). An artifact is immutable and may be shared between threads and
 * sessions; a session must be used by one thread at a time. A session keeps
 * its artifact alive, so the artifact may be closed before its sessions. */
#ifndef LATHE_LATHE_H
#define LATHE_LATHE_H

#include <stddef.h>
#include <stdint.h>

#if defined(LATHE_BUILDING_RUNTIME)
#define LATHE_API __attribute__((visibility("default")))
#else
#define LATHE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lathe_status {
  LATHE_OK = 0,
  LATHE_ERROR_INVALID_ARGUMENT = 1, /* bad call: null pointer, wrong shape, dtype, token id, ... */
  LATHE_ERROR_NOT_FOUND = 2,        /* no such entry point, input or output */
  LATHE_ERROR_IO = 3,               /* the file cannot be opened or read */
  LATHE_ERROR_INVALID_ARTIFACT = 4, /* corrupt, truncated or inconsistent artifact */
  LATHE_ERROR_UNSUPPORTED = 5,      /* newer schema, device not in this build, target mismatch */
  LATHE_ERROR_OUT_OF_MEMORY = 6,
  LATHE_ERROR_INVALID_STATE = 7,    /* e.g. reading an output before running */
  LATHE_ERROR_INTERNAL = 8
} lathe_status;

/* Same values as the artifact schema's DType. */
typedef enum lathe_dtype {
  LATHE_DTYPE_F32 = 0,
  LATHE_DTYPE_F16 = 1,
  LATHE_DTYPE_BF16 = 2,
  LATHE_DTYPE_I32 = 3
} lathe_dtype;

typedef struct lathe_artifact lathe_artifact;
typedef struct lathe_session lathe_session;

/* The message of the last failure on this thread ("" if none). */
LATHE_API const char* lathe_last_error(void);
/* A fixed name for a status, e.g. "LATHE_ERROR_NOT_FOUND". */
LATHE_API const char* lathe_status_name(lathe_status status);
/* The artifact schema version this runtime reads. */
LATHE_API uint32_t lathe_schema_version(void);

/* ---- Artifacts ---------------------------------------------------------- */
/* Opens (memory-maps) and fully verifies an artifact file. */
LATHE_API lathe_status lathe_artifact_open(const char* path, lathe_artifact** out);
/* Verifies and copies an in-memory artifact; `data` may be freed afterwards. */
LATHE_API lathe_status lathe_artifact_open_memory(const void* data, size_t size, lathe_artifact** out);
/* Null is accepted. */
LATHE_API void lathe_artifact_close(lathe_artifact* artifact);

/* Strings are owned by the artifact and live as long as it. */
LATHE_API const char* lathe_artifact_target(const lathe_artifact* artifact);     /* "cpu" */
LATHE_API const char* lathe_artifact_producer(const lathe_artifact* artifact);   /* "lathe <version>" */
LATHE_API const char* lathe_artifact_model_json(const lathe_artifact* artifact); /* model description */
LATHE_API int64_t lathe_artifact_max_batch(const lathe_artifact* artifact);
LATHE_API int64_t lathe_artifact_max_seq(const lathe_artifact* artifact);

LATHE_API size_t lathe_artifact_entry_point_count(const lathe_artifact* artifact);
/* Null when index is out of range. */
LATHE_API const char* lathe_artifact_entry_point_name(const lathe_artifact* artifact, size_t index);

LATHE_API lathe_status lathe_artifact_input_count(const lathe_artifact* artifact, const char* entry, size_t* count);
LATHE_API lathe_status lathe_artifact_output_count(const lathe_artifact* artifact, const char* entry, size_t* count);
/* Name, dtype and symbolic shape (e.g. "[B, T, 50257]") of the index-th input/output of `entry`. */
LATHE_API lathe_status lathe_artifact_input_info(const lathe_artifact* artifact, const char* entry, size_t index,
                                                 const char** name, lathe_dtype* dtype, const char** shape);
LATHE_API lathe_status lathe_artifact_output_info(const lathe_artifact* artifact, const char* entry, size_t index,
                                                  const char** name, lathe_dtype* dtype, const char** shape);

/* ---- Sessions ------------------------------------------------------------ */
/* device: "cpu". The artifact's target must match the device kind. Uploads the
 * weights and allocates the arena, inputs and outputs at their maximum sizes. */
LATHE_API lathe_status lathe_session_create(const lathe_artifact* artifact, const char* device, lathe_session** out);
/* Null is accepted. */
LATHE_API void lathe_session_destroy(lathe_session* session);

/* Copies `data` (row-major, shape[0..rank)) into the input. Checks dtype,
 * rank, the symbolic dims, 1 <= B <= max_batch, 1 <= T <= max_seq, and that
 * token ids lie in [0, vocab). */
LATHE_API lathe_status lathe_session_set_input(lathe_session* session, const char* entry, const char* name,
                                               lathe_dtype dtype, const int64_t* shape, size_t rank,
                                               const void* data);
/* Runs `entry` with the inputs set so far (all of them must be set). */
LATHE_API lathe_status lathe_session_run(lathe_session* session, const char* entry);
/* Shape of an output after the last run: *rank is in/out (capacity of shape_out in, rank out). */
LATHE_API lathe_status lathe_session_output_shape(const lathe_session* session, const char* entry, const char* name,
                                                  int64_t* shape_out, size_t* rank);
/* Copies the output of the last run into dst; `bytes` must be at least its size. */
LATHE_API lathe_status lathe_session_read_output(const lathe_session* session, const char* entry, const char* name,
                                                 void* dst, size_t bytes);

/* Zeroes the session's states (the KV cache), as at creation. Generation
 * always starts from position 0, so this is needed only to drop old contents. */
LATHE_API lathe_status lathe_session_reset(lathe_session* session);

/* ---- Generation (artifacts compiled with `lathe compile --infer`) ------- */
typedef struct lathe_sampling {
  int32_t greedy;             /* nonzero: argmax (also when temperature == 0) */
  float temperature;          /* >= 0 */
  int32_t top_k;              /* 0: off */
  float top_p;                /* (0, 1]; 1: off */
  float min_p;                /* [0, 1]; 0: off */
  float repetition_penalty;   /* > 0; 1: off. Seen logits l -> l / r if l > 0, else l * r */
  float presence_penalty;     /* subtracted from the logits of seen tokens; 0: off */
  uint64_t seed;              /* same seed, same settings, same tokens */
  int32_t max_new_tokens;     /* >= 1 */
  const int32_t* stop_tokens; /* generation of a sequence ends after any of these */
  size_t stop_token_count;
  const char* const* stop_strings; /* need an artifact with a tokenizer */
  size_t stop_string_count;
} lathe_sampling;

/* Defaults: temperature 1, no truncation or penalties, seed 0, 16 new tokens. */
LATHE_API void lathe_sampling_init(lathe_sampling* sampling);

typedef enum lathe_finish_reason {
  LATHE_FINISH_MAX_TOKENS = 0,
  LATHE_FINISH_STOP_TOKEN = 1,
  LATHE_FINISH_STOP_STRING = 2,
  LATHE_FINISH_CONTEXT_FULL = 3, /* the sequence reached max_seq */
  LATHE_FINISH_CANCELLED = 4
} lathe_finish_reason;

typedef struct lathe_generation_callbacks {
  /* Each token as it is chosen, with the model's log-probability of it (log
   * softmax of the raw logits). Return nonzero to cancel. May be null. */
  int (*on_token)(void* user, size_t sequence, int32_t token, float logprob);
  /* The (batch, vocab) logits of each step (0: prefill) before sampling. May be null. */
  void (*on_logits)(void* user, size_t step, const float* logits, size_t batch, size_t vocab);
  void* user;
} lathe_generation_callbacks;

typedef struct lathe_generation_stats {
  int64_t prefill_tokens;
  double prefill_seconds;
  int64_t decode_tokens;
  double decode_seconds;
} lathe_generation_stats;

typedef struct lathe_generation lathe_generation;

/* Generates for `batch` prompts at once (batch <= max_batch, each prompt
 * 1..max_seq tokens). `sampling` holds `sampling_count` entries: 1 (shared)
 * or `batch` (per sequence). `callbacks` may be null. Runs to completion,
 * streaming through the callbacks; *out receives the results (free with
 * lathe_generation_free). A cancelled generation still succeeds, with the
 * unfinished sequences marked LATHE_FINISH_CANCELLED. */
LATHE_API lathe_status lathe_generate(lathe_session* session, size_t batch, const int32_t* const* prompts,
                                      const size_t* prompt_lengths, const lathe_sampling* sampling,
                                      size_t sampling_count, const lathe_generation_callbacks* callbacks,
                                      lathe_generation** out);
/* Cancels the generation running on `session`; the one call that may come from another thread. */
LATHE_API void lathe_session_cancel(lathe_session* session);

LATHE_API size_t lathe_generation_batch(const lathe_generation* generation);
/* Generated tokens and their log-probabilities; the arrays live as long as the generation. */
LATHE_API lathe_status lathe_generation_tokens(const lathe_generation* generation, size_t sequence,
                                               const int32_t** tokens, const float** logprobs, size_t* count);
LATHE_API lathe_status lathe_generation_finish_reason(const lathe_generation* generation, size_t sequence,
                                                      lathe_finish_reason* reason);
LATHE_API lathe_status lathe_generation_stats_get(const lathe_generation* generation, lathe_generation_stats* stats);
/* Null is accepted. */
LATHE_API void lathe_generation_free(lathe_generation* generation);

#ifdef __cplusplus
}
#endif

#endif /* LATHE_LATHE_H */
