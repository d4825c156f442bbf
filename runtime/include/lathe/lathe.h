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

#ifdef __cplusplus
}
#endif

#endif /* LATHE_LATHE_H */
