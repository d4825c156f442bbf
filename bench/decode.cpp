// lathe-bench-decode ARTIFACT --batch B --prompt-len P --new-tokens N --runs R [--device DEV]
// Greedy generation through the public C++ API (lathe.hpp): prefill of B
// prompts of P random tokens, then N decode steps. Prints one JSON object with
// the median prefill and decode tokens/s over the runs.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "lathe/lathe.hpp"

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s ARTIFACT [--batch B] [--prompt-len P] [--new-tokens N] [--runs R] [--device DEV]\n",
               program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(argv[0]);
  long batch = 1, prompt_len = 128, new_tokens = 32, runs = 3;
  std::string device = "cpu";
  for (int i = 2; i + 1 < argc; i += 2) {
    const long value = std::strtol(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--device") == 0) device = argv[i + 1];
    else if (std::strcmp(argv[i], "--batch") == 0) batch = value;
    else if (std::strcmp(argv[i], "--prompt-len") == 0) prompt_len = value;
    else if (std::strcmp(argv[i], "--new-tokens") == 0) new_tokens = value;
    else if (std::strcmp(argv[i], "--runs") == 0) runs = value;
    else return usage(argv[0]);
  }
  if (batch < 1 || prompt_len < 1 || new_tokens < 2 || runs < 1) return usage(argv[0]);
  try {
    lathe::Artifact artifact(argv[1]);
    lathe::Session session(artifact, device);
    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> token(0, 999);
    std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(batch));
    for (auto& prompt : prompts)
      for (long t = 0; t < prompt_len; ++t) prompt.push_back(token(rng));
    lathe::Sampling greedy;
    greedy.greedy = 1;
    greedy.max_new_tokens = static_cast<int32_t>(new_tokens);
    std::vector<double> prefill, decode;
    for (long run = 0; run <= runs; ++run) {  // run 0 warms up
      const lathe::GenerationResult result = session.generate(prompts, {greedy});
      if (run == 0) continue;
      prefill.push_back(result.stats.prefill_tokens / result.stats.prefill_seconds);
      decode.push_back(result.stats.decode_tokens / result.stats.decode_seconds);
    }
    std::printf("{\"batch\": %ld, \"prompt_len\": %ld, \"new_tokens\": %ld, \"prefill_tokens_per_s\": %.2f, "
                "\"decode_tokens_per_s\": %.2f}\n",
                batch, prompt_len, new_tokens, median(prefill), median(decode));
  } catch (const lathe::RuntimeError& error) {
    std::fprintf(stderr, "lathe-bench-decode: %s\n", error.what());
    return 1;
  }
  return 0;
}
