/* A minimal app embedding the Lathe runtime: it links only liblathe_runtime,
 * loads an artifact compiled with `lathe compile --infer`, and generates.
 *
 *   lathe-embed-example model.lathe [token ...]
 *
 * It streams a greedy continuation, then a seeded sampled one for a batch of
 * two prompts, cancels a third run from the token callback, and checks that a
 * second greedy run after lathe_session_reset gives the same tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/lathe.h"

#define CHECK(call)                                                           \
  do {                                                                        \
    lathe_status status_ = (call);                                            \
    if (status_ != LATHE_OK) {                                                \
      fprintf(stderr, "%s: %s\n", lathe_status_name(status_), lathe_last_error()); \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

static int print_token(void* user, size_t sequence, int32_t token, float logprob) {
  (void)user;
  printf("  [%zu] %d (log p = %.3f)\n", sequence, token, logprob);
  return 0;
}

static int cancel_after_three(void* user, size_t sequence, int32_t token, float logprob) {
  (void)sequence, (void)token, (void)logprob;
  int* seen = (int*)user;
  return ++*seen >= 3; /* nonzero cancels */
}

/* Copies sequence 0's tokens of `generation` into `out` (capacity `cap`). */
static size_t tokens_of(const lathe_generation* generation, int32_t* out, size_t cap) {
  const int32_t* tokens = NULL;
  size_t count = 0;
  CHECK(lathe_generation_tokens(generation, 0, &tokens, NULL, &count));
  if (count > cap) count = cap;
  memcpy(out, tokens, count * sizeof(int32_t));
  return count;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s ARTIFACT [token ...]\n", argv[0]);
    return 2;
  }
  int32_t prompt[64] = {1, 2, 3};
  size_t prompt_length = 3;
  if (argc > 2) {
    prompt_length = 0;
    for (int i = 2; i < argc && prompt_length < 64; ++i) prompt[prompt_length++] = (int32_t)atoi(argv[i]);
  }

  lathe_artifact* artifact = NULL;
  lathe_session* session = NULL;
  CHECK(lathe_artifact_open(argv[1], &artifact));
  CHECK(lathe_session_create(artifact, "cpu", &session));

  lathe_sampling greedy;
  lathe_sampling_init(&greedy);
  greedy.greedy = 1;
  greedy.max_new_tokens = 8;
  lathe_generation_callbacks streaming = {print_token, NULL, NULL};

  const int32_t* prompts[2] = {prompt, prompt};
  size_t lengths[2] = {prompt_length, prompt_length > 1 ? prompt_length - 1 : 1};
  lathe_generation* first = NULL;
  printf("greedy:\n");
  CHECK(lathe_generate(session, 1, prompts, lengths, &greedy, 1, &streaming, &first));
  int32_t first_tokens[64];
  const size_t first_count = tokens_of(first, first_tokens, 64);
  lathe_generation_stats stats;
  CHECK(lathe_generation_stats_get(first, &stats));
  printf("prefill %.0f tokens/s, decode %.0f tokens/s\n", stats.prefill_tokens / stats.prefill_seconds,
         stats.decode_seconds > 0 ? stats.decode_tokens / stats.decode_seconds : 0.0);
  lathe_generation_free(first);

  lathe_sampling sampled[2];
  for (int b = 0; b < 2; ++b) {
    lathe_sampling_init(&sampled[b]);
    sampled[b].temperature = 0.8f;
    sampled[b].top_k = 20;
    sampled[b].top_p = 0.95f;
    sampled[b].seed = 1234 + (uint64_t)b;
    sampled[b].max_new_tokens = 6;
  }
  lathe_generation* batch = NULL;
  printf("sampled, batch of 2:\n");
  CHECK(lathe_generate(session, 2, prompts, lengths, sampled, 2, &streaming, &batch));
  lathe_generation_free(batch);

  int seen = 0;
  lathe_generation_callbacks canceller = {cancel_after_three, NULL, &seen};
  lathe_generation* cancelled = NULL;
  CHECK(lathe_generate(session, 1, prompts, lengths, &greedy, 1, &canceller, &cancelled));
  lathe_finish_reason reason;
  CHECK(lathe_generation_finish_reason(cancelled, 0, &reason));
  int32_t partial[64];
  const size_t partial_count = tokens_of(cancelled, partial, 64);
  lathe_generation_free(cancelled);
  if (reason != LATHE_FINISH_CANCELLED || partial_count != 3) {
    fprintf(stderr, "expected a cancelled run with 3 tokens, got reason %d with %zu\n", (int)reason, partial_count);
    return 1;
  }

  CHECK(lathe_session_reset(session));
  lathe_generation* again = NULL;
  CHECK(lathe_generate(session, 1, prompts, lengths, &greedy, 1, NULL, &again));
  int32_t again_tokens[64];
  const size_t again_count = tokens_of(again, again_tokens, 64);
  lathe_generation_free(again);
  if (again_count != first_count || memcmp(again_tokens, first_tokens, first_count * sizeof(int32_t)) != 0) {
    fprintf(stderr, "greedy generation after a reset differs from the first one\n");
    return 1;
  }
  printf("ok: cancel stopped after 3 tokens; greedy output is reproducible after reset\n");

  lathe_session_destroy(session);
  lathe_artifact_close(artifact);
  return 0;
}
