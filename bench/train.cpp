// lathe-bench-train: training-step throughput of an artifact compiled with
// `lathe compile --train`, on the CPU. One step = train_micro_step on (tokens,
// targets) + optimizer_step (AdamW). The ids come from a (B, T+1) .npy: tokens
// are its first T columns, targets the last T. Prints one JSON object: the
// first step's loss (before any update), median/min step seconds, tokens/s and
// the process's peak resident memory.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <stdexcept>
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
  std::string ids_file;  // (B, T+1) int32
  int threads = 2;
  int warmup = 1;
  int runs = 5;
  float lr = 1e-4f;
  std::string device = "cpu";
  bool profile = false;  // add per-kernel-kind device times of one more micro-step
};

void addOptions(CLI::App& app, Options& options) {
  using lathe::bench::atLeast;
  app.add_option("artifact", options.artifact, "artifact compiled with `lathe compile --train`")->required();
  app.add_option("--ids", options.ids_file, "(B, T+1) int32 token ids; tokens = ids[:, :T], targets = ids[:, 1:]")
      ->required();
  app.add_option("--threads", options.threads, "CPU threads (LATHE_NUM_THREADS)")->check(atLeast(1));
  app.add_option("--warmup", options.warmup, "untimed steps first; the first step's loss is the cross-check")
      ->check(atLeast(1));
  app.add_option("--runs", options.runs, "timed steps (median is reported)")->check(atLeast(1));
  app.add_option("--lr", options.lr, "AdamW learning rate")->check(lathe::bench::positive());
  app.add_option("--device", options.device, "cpu, vulkan[:N] or cuda[:N]");
  app.add_option("--profile", options.profile, "1: add per-kernel-kind device times of one more micro-step")
      ->check(atLeast(0));
}

struct Batch {
  std::vector<int64_t> shape;  // (B, T)
  std::vector<int32_t> tokens, targets;
};

Batch splitIds(const lathe::npy::TokenArray& ids, const std::string& path) {
  const int64_t B = ids.shape[0], T = ids.shape[1] - 1;
  if (T < 1) throw std::invalid_argument(path + ": needs at least 2 columns (tokens and the next-token targets)");
  Batch batch{{B, T}, {}, {}};
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* row = ids.ids.data() + b * (T + 1);
    batch.tokens.insert(batch.tokens.end(), row, row + T);
    batch.targets.insert(batch.targets.end(), row + 1, row + T + 1);
  }
  return batch;
}

/// Resident set size now, in bytes (Linux /proc/self/statm).
int64_t currentRssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t total_pages = 0, resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

/// Peak resident set size of this process so far, in bytes (ru_maxrss is in KiB on Linux).
int64_t peakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

class TrainStep {
public:
  TrainStep(const lathe::Artifact& artifact, const Batch& batch, float lr, const std::string& device)
      : session_(artifact, device), lr_(lr) {
    session_.setInput("train_micro_step", "tokens", batch.shape, batch.tokens);
    session_.setInput("train_micro_step", "targets", batch.shape, batch.targets);
  }

  /// One micro-batch and one AdamW update (the same hyper-parameters as the PyTorch peer); returns the loss.
  float run() {
    session_.run("train_micro_step");
    float loss = 0.0f;
    session_.readOutput("train_micro_step", "loss", &loss, sizeof(loss));
    ++step_;
    // hyper = [lr, beta1, beta2, eps, weight_decay, clip, grad_scale, step]
    const std::array<float, 8> hyper = {lr_, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f, 1.0f, static_cast<float>(step_)};
    session_.setInput("optimizer_step", "hyper", LATHE_DTYPE_F32, {8}, hyper.data());
    session_.run("optimizer_step");
    return loss;
  }

  lathe::Session& session() { return session_; }

private:
  lathe::Session session_;
  float lr_;
  int64_t step_ = 0;
};

int benchmark(const Options& options) {
  lathe::bench::setCpuThreads(options.threads);
  const Batch batch = splitIds(lathe::npy::readTokens(options.ids_file), options.ids_file);
  const int64_t rss_before_model = currentRssBytes();
  lathe::Artifact artifact(options.artifact);
  const int64_t B = batch.shape[0], T = batch.shape[1];
  lathe::bench::checkBatchFits(artifact, B, T);
  TrainStep step(artifact, batch, options.lr, options.device);
  auto start = std::chrono::steady_clock::now();
  const float first_loss = step.run();
  const double first_step_s = lathe::bench::secondsSince(start);
  for (int i = 1; i < options.warmup; ++i) step.run();
  std::vector<double> times;
  for (int i = 0; i < options.runs; ++i) {
    start = std::chrono::steady_clock::now();
    step.run();
    times.push_back(lathe::bench::secondsSince(start));
  }
  const double median = lathe::bench::median(times);
  const int64_t peak_rss = peakRssBytes();
  nlohmann::json result = {{"impl", "lathe"},
                           {"batch", B},
                           {"seq", T},
                           {"threads", options.threads},
                           {"runs", options.runs},
                           {"first_loss", first_loss},
                           {"first_step_s", first_step_s},
                           {"median_s", median},
                           {"min_s", *std::min_element(times.begin(), times.end())},
                           {"tokens_per_s", double(B * T) / median},
                           {"rss_before_model_bytes", rss_before_model},
                           {"peak_rss_bytes", peak_rss},
                           {"device", options.device}};
  if (options.profile) result["kernels"] = lathe::bench::profileByKind(step.session(), "train_micro_step");
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Training-step throughput and peak memory of a --train artifact, as one JSON object",
               "lathe-bench-train"};
  addOptions(app, options);
  return lathe::bench::runDriver(app, argc, argv, [&] { return benchmark(options); });
}
