// lathe-bench-forward: forward-pass throughput of a compiled artifact on a
// device (cpu by default). Warm-up, then timed runs on seeded random token ids (or ids from a
// .npy); prints one JSON object: median/min seconds and tokens/s.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ArtifactBench.h"
#include "Driver.h"
#include "Npy.h"
#include "lathe/lathe.hpp"

namespace {

struct Options {
  std::string artifact;
  int64_t batch = 4;
  int64_t seq = 64;
  int threads = 2;
  int warmup = 2;
  int runs = 10;
  uint32_t seed = 1;
  std::string tokens_file;  // overrides batch/seq/seed
  std::string dump_logits;  // logits of the last run, float32 .npy
  std::string device = "cpu";
  bool profile = false;     // add per-kernel-kind device times of one more run
};

void addOptions(CLI::App& app, Options& options) {
  using lathe::bench::atLeast;
  app.add_option("artifact", options.artifact, "compiled .lathe file")->required();
  app.add_option("--batch", options.batch, "rows of random token ids")->check(atLeast(1));
  app.add_option("--seq", options.seq, "columns of random token ids")->check(atLeast(1));
  app.add_option("--threads", options.threads, "CPU threads (LATHE_NUM_THREADS)")->check(atLeast(1));
  app.add_option("--warmup", options.warmup, "untimed runs first")->check(atLeast(0));
  app.add_option("--runs", options.runs, "timed runs (median is reported)")->check(atLeast(1));
  app.add_option("--seed", options.seed, "seed of the random token ids")->check(atLeast(0));
  app.add_option("--tokens-file", options.tokens_file, "(B,T) int32 .npy of token ids instead of random ones");
  app.add_option("--dump-logits", options.dump_logits, "write the last run's float32 logits to this .npy");
  app.add_option("--device", options.device, "cpu, vulkan[:N] or cuda[:N]");
  app.add_option("--profile", options.profile, "1: add per-kernel-kind device times of one more run")
      ->check(atLeast(0));
}

lathe::npy::TokenArray randomTokens(const lathe::Artifact& artifact, const Options& options) {
  const int64_t vocab = nlohmann::json::parse(artifact.modelJson()).at("vocab_size").get<int64_t>();
  lathe::npy::TokenArray tokens;
  tokens.shape = {options.batch, options.seq};
  std::mt19937 rng(options.seed);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(vocab - 1));
  tokens.ids.resize(static_cast<size_t>(options.batch * options.seq));
  for (int32_t& value : tokens.ids) value = id(rng);
  return tokens;
}

int benchmark(const Options& options) {
  lathe::bench::setCpuThreads(options.threads);
  lathe::Artifact artifact(options.artifact);
  lathe::npy::TokenArray tokens =
      options.tokens_file.empty() ? randomTokens(artifact, options) : lathe::npy::readTokens(options.tokens_file);
  const int64_t B = tokens.shape[0], T = tokens.shape[1];
  lathe::bench::checkBatchFits(artifact, B, T);
  lathe::Session session(artifact, options.device);
  session.setInput<int32_t>("forward", "tokens", tokens.shape, tokens.ids);
  for (int i = 0; i < options.warmup; ++i) session.run("forward");
  std::vector<double> times;
  for (int i = 0; i < options.runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    session.run("forward");
    times.push_back(lathe::bench::secondsSince(start));
  }
  if (!options.dump_logits.empty()) {
    std::vector<float> logits = session.output<float>("forward", "logits");
    lathe::npy::writeFloat32(options.dump_logits, session.outputShape("forward", "logits"), logits.data());
  }
  const double median = lathe::bench::median(times);
  nlohmann::json result = {{"impl", "lathe"},
                           {"batch", B},
                           {"seq", T},
                           {"threads", options.threads},
                           {"runs", options.runs},
                           {"median_s", median},
                           {"min_s", *std::min_element(times.begin(), times.end())},
                           {"tokens_per_s", double(B * T) / median},
                           {"device", options.device}};
  if (options.profile) result["kernels"] = lathe::bench::profileByKind(session, "forward");
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Forward-pass throughput of a compiled artifact, as one JSON object", "lathe-bench-forward"};
  addOptions(app, options);
  return lathe::bench::runDriver(app, argc, argv, [&] { return benchmark(options); });
}
