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

#ifdef __cplusplus
}
#endif

#endif /* LATHE_LATHE_H */
