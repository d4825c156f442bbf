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
typedef struct lathe_tokenizer lathe_tokenizer;
typedef struct lathe_token_decoder lathe_token_decoder;

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
/* device: "cpu", "vulkan" (the best Vulkan device), "vulkan:N" (by index),
 * "vulkan:<name substring>" (e.g. "vulkan:llvmpipe"), "cuda" (CUDA GPU 0) or "cuda:N". Without the CUDA driver or a
 * GPU, "cuda" fails with LATHE_ERROR_UNSUPPORTED ("no CUDA driver ..." / "no CUDA GPU ..."). The artifact's target
 * must match the device kind. Uploads the
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

/* ---- Profiling -----------------------------------------------------------
 * While enabled, every run times each dispatch on the device (cpu: host
 * clock; vulkan: GPU timestamps; cuda: events). Off by default. The profile holds the
 * dispatches of the last run made while profiling, in order; it is empty
 * before such a run. */
LATHE_API lathe_status lathe_session_set_profiling(lathe_session* session, int enabled);
LATHE_API lathe_status lathe_session_profile_count(const lathe_session* session, size_t* count);
/* The index-th dispatch: its name (e.g. "layers.0.attn.q"), kernel kind (e.g.
 * "Gemm"), and time. Strings live until the session's next run. Outputs may be null. */
LATHE_API lathe_status lathe_session_profile(const lathe_session* session, size_t index, const char** name,
                                             const char** kind, double* microseconds);

/* ---- Tokenizers ----------------------------------------------------------
 * Byte-level BPE compatible with GPT-2: GPT-2's pre-tokenization pattern, its
 * merges, special tokens such as <|endoftext|>. Any byte string encodes, and
 * decoding the ids gives the bytes back. A tokenizer is immutable and may be
 * shared between threads; a token decoder is used by one thread at a time.
 * Token ids are int32 like the models' token inputs. */

/* Loads a directory holding encoder.json + vocab.bpe (GPT-2), vocab.json +
 * merges.txt or tokenizer.json (Hugging Face), or a tokenizer.json file.
 * A tokenizer.json must be a byte-level BPE; other kinds are refused with
 * LATHE_ERROR_UNSUPPORTED. */
LATHE_API lathe_status lathe_tokenizer_load(const char* path, lathe_tokenizer** out);
/* The same from file contents in memory (copied). */
LATHE_API lathe_status lathe_tokenizer_load_gpt2_memory(const char* encoder_json, size_t encoder_size,
                                                        const char* merges, size_t merges_size,
                                                        lathe_tokenizer** out);
LATHE_API lathe_status lathe_tokenizer_load_hf_memory(const char* tokenizer_json, size_t size, lathe_tokenizer** out);
/* The tokenizer compiled into an artifact; LATHE_ERROR_NOT_FOUND when it has
 * none. The tokenizer stays valid after the artifact is closed. */
LATHE_API lathe_status lathe_artifact_tokenizer(const lathe_artifact* artifact, lathe_tokenizer** out);
/* Learns a vocabulary of `vocab_size` tokens (256 bytes + merges + the special
 * tokens, which are appended last) from the text files in `paths`. */
LATHE_API lathe_status lathe_tokenizer_train(const char* const* paths, size_t path_count, size_t vocab_size,
                                             const char* const* special_tokens, size_t special_count,
                                             lathe_tokenizer** out);
/* Writes encoder.json and vocab.bpe (GPT-2's format) into `dir`, creating it if missing. */
LATHE_API lathe_status lathe_tokenizer_save(const lathe_tokenizer* tokenizer, const char* dir);
/* Null is accepted. */
LATHE_API void lathe_tokenizer_free(lathe_tokenizer* tokenizer);

LATHE_API size_t lathe_tokenizer_token_count(const lathe_tokenizer* tokenizer);
LATHE_API size_t lathe_tokenizer_merge_count(const lathe_tokenizer* tokenizer);
/* A token's bytes (owned by the tokenizer, not NUL-terminated) and whether it is special; outputs may be null. */
LATHE_API lathe_status lathe_tokenizer_token(const lathe_tokenizer* tokenizer, int32_t id, const char** bytes,
                                             size_t* size, int* is_special);
/* The merge of the given rank: the ids of its two parts. */
LATHE_API lathe_status lathe_tokenizer_merge(const lathe_tokenizer* tokenizer, size_t rank, int32_t* left,
                                             int32_t* right);
/* The id of a special token such as "<|endoftext|>", or -1. */
LATHE_API int32_t lathe_tokenizer_special_id(const lathe_tokenizer* tokenizer, const char* text);

/* Flags for lathe_tokenizer_encode. */
#define LATHE_ENCODE_SPECIAL_AS_TEXT 1u /* encode "<|endoftext|>" in the text as ordinary text */

/* Encodes text_size bytes of `text` (any bytes; need not be UTF-8) into
 * `ids`. *count receives the number of ids; when it exceeds `capacity` the call
 * fails with LATHE_ERROR_INVALID_ARGUMENT and writes nothing. text_size ids
 * always suffice. */
LATHE_API lathe_status lathe_tokenizer_encode(const lathe_tokenizer* tokenizer, const char* text, size_t text_size,
                                              uint32_t flags, int32_t* ids, size_t capacity, size_t* count);
/* Decodes `ids` into `text` (not NUL-terminated); *size receives the byte
 * count, and when it exceeds `capacity` the call fails as above. */
LATHE_API lathe_status lathe_tokenizer_decode(const lathe_tokenizer* tokenizer, const int32_t* ids, size_t count,
                                              char* text, size_t capacity, size_t* size);

/* Streaming decode for generation: push one id at a time and get the text
 * that became complete. A UTF-8 character split across tokens comes out when
 * its last byte arrives; finish() returns what is still held back. The text
 * pointer is owned by the decoder and valid until its next call. */
LATHE_API lathe_status lathe_token_decoder_create(const lathe_tokenizer* tokenizer, lathe_token_decoder** out);
LATHE_API lathe_status lathe_token_decoder_push(lathe_token_decoder* decoder, int32_t id, const char** text,
                                                size_t* size);
LATHE_API lathe_status lathe_token_decoder_finish(lathe_token_decoder* decoder, const char** text, size_t* size);
/* Null is accepted. */
LATHE_API void lathe_token_decoder_free(lathe_token_decoder* decoder);
/* Zeroes the session's KV-cache states, as at creation; training states
 * (parameters, gradients, optimizer moments) are kept. Generation always
 * starts from position 0, so this is needed only to drop old contents. */
LATHE_API lathe_status lathe_session_reset(lathe_session* session);

/* ---- States ---------------------------------------------------------------
 * Tensors a session keeps across calls, all f32 with fixed shapes. Artifacts
 * compiled with --train hold, per trainable weight <name>: param.<name> (the
 * weights the entry points read, copied from the artifact at creation),
 * grad.<name>, adam.m.<name> and adam.v.<name> (zero at creation). */
typedef enum lathe_state_kind {
  LATHE_STATE_CACHE = 0,
  LATHE_STATE_PARAMETER = 1,
  LATHE_STATE_GRADIENT = 2,
  LATHE_STATE_OPTIMIZER_MOMENT = 3
} lathe_state_kind;

LATHE_API size_t lathe_artifact_state_count(const lathe_artifact* artifact);
/* The index-th state: name (owned by the artifact), kind, size in bytes, and
 * its shape (*rank is in/out like lathe_session_output_shape; shape may be
 * null when *rank is 0 on input, to ask for the rank). Outputs may be null. */
LATHE_API lathe_status lathe_artifact_state_info(const lathe_artifact* artifact, size_t index, const char** name,
                                                 lathe_state_kind* kind, size_t* bytes, int64_t* shape,
                                                 size_t* rank);
/* Copies a whole state out of / into the session; `bytes` must equal its size. */
LATHE_API lathe_status lathe_session_read_state(const lathe_session* session, const char* name, void* dst,
                                                size_t bytes);
LATHE_API lathe_status lathe_session_write_state(lathe_session* session, const char* name, const void* src,
                                                 size_t bytes);

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
