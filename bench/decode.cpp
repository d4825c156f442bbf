// lathe-bench-decode ARTIFACT --batch B --prompt-len P --new-tokens N --runs R [--device DEV]
// Greedy generation through the public C++ API (lathe.hpp): prefill of B
// prompts of P random tokens, then N decode steps. Prints one JSON object with
// the median prefill and decode tokens/s over the runs.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "Driver.h"
#include "lathe/lathe.hpp"

namespace {

struct Options {
  std::string artifact;
  int batch = 1;
  int prompt_len = 128;
  int new_tokens = 32;
  int runs = 3;
  std::string device = "cpu";
};

void addOptions(CLI::App& app, Options& options) {
  using lathe::bench::atLeast;
  app.add_option("artifact", options.artifact, "compiled .lathe file")->required();
  app.add_option("--batch", options.batch, "prompts generated together")->check(atLeast(1));
  app.add_option("--prompt-len", options.prompt_len, "random tokens per prompt")->check(atLeast(1));
  app.add_option("--new-tokens", options.new_tokens, "tokens generated per prompt")->check(atLeast(2));
  app.add_option("--runs", options.runs, "timed runs after one warm-up (median is reported)")->check(atLeast(1));
  app.add_option("--device", options.device, "cpu, vulkan[:N] or cuda[:N]");
}

int benchmark(const Options& options) {
  lathe::Artifact artifact(options.artifact);
  lathe::Session session(artifact, options.device);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> token(0, 999);
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(options.batch));
  for (auto& prompt : prompts)
    for (int t = 0; t < options.prompt_len; ++t) prompt.push_back(token(rng));
  lathe::Sampling greedy;
  greedy.greedy = 1;
  greedy.max_new_tokens = options.new_tokens;
  std::vector<double> prefill, decode;
  for (int run = 0; run <= options.runs; ++run) {  // run 0 warms up
    const lathe::GenerationResult result = session.generate(prompts, {greedy});
    if (run == 0) continue;
    prefill.push_back(result.stats.prefill_tokens / result.stats.prefill_seconds);
    decode.push_back(result.stats.decode_tokens / result.stats.decode_seconds);
  }
  std::printf("{\"batch\": %d, \"prompt_len\": %d, \"new_tokens\": %d, \"prefill_tokens_per_s\": %.2f, "
              "\"decode_tokens_per_s\": %.2f}\n",
              options.batch, options.prompt_len, options.new_tokens, lathe::bench::median(prefill),
              lathe::bench::median(decode));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Greedy generation tokens/s (prefill and decode) through the public API, as one JSON object",
               "lathe-bench-decode"};
  addOptions(app, options);
  return lathe::bench::runDriver(app, argc, argv, [&] { return benchmark(options); });
}
