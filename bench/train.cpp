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
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "KernelProfile.h"
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

const char* const kUsage =
    "usage: lathe-bench-train ARTIFACT --ids ids.npy [--threads N] [--warmup N] [--runs N] [--lr LR]\n"
    "                         [--device cpu|vulkan[:N]|cuda[:N]] [--profile 0|1]\n"
    "  ids.npy: (B, T+1) int32 token ids; tokens = ids[:, :T], targets = ids[:, 1:]\n";

int64_t parseInteger(const std::string& flag, const std::string& text, int64_t min_value) {
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || value < min_value)
    throw std::invalid_argument(flag + ": '" + text + "' is not an integer >= " + std::to_string(min_value));
  return value;
}

float parsePositive(const std::string& flag, const std::string& text) {
  size_t used = 0;
  float value = 0;
  try {
    value = std::stof(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || !(value > 0))
    throw std::invalid_argument(flag + ": '" + text + "' is not a number > 0");
  return value;
}

Options parseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      if (!options.artifact.empty()) throw std::invalid_argument("more than one artifact given ('" + arg + "')");
      options.artifact = arg;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--ids") options.ids_file = value;
    else if (arg == "--threads") options.threads = static_cast<int>(parseInteger(arg, value, 1));
    // At least one warm-up step: the first step's loss is the cross-check.
    else if (arg == "--warmup") options.warmup = static_cast<int>(parseInteger(arg, value, 1));
    else if (arg == "--runs") options.runs = static_cast<int>(parseInteger(arg, value, 1));
    else if (arg == "--lr") options.lr = parsePositive(arg, value);
    else if (arg == "--device") options.device = value;
    else if (arg == "--profile") options.profile = parseInteger(arg, value, 0) != 0;
    else throw std::invalid_argument("unknown option '" + arg + "'");
  }
  if (options.artifact.empty()) throw std::invalid_argument("no artifact given");
  if (options.ids_file.empty()) throw std::invalid_argument("no --ids file given");
  return options;
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

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
  // The CPU device sizes its thread pool from this variable when the session is created.
  setenv("LATHE_NUM_THREADS", std::to_string(options.threads).c_str(), 1);
  const Batch batch = splitIds(lathe::npy::readTokens(options.ids_file), options.ids_file);
  const int64_t rss_before_model = currentRssBytes();
  lathe::Artifact artifact(options.artifact);
  const int64_t B = batch.shape[0], T = batch.shape[1];
  if (B > artifact.maxBatch() || T > artifact.maxSeq())
    throw std::invalid_argument("B=" + std::to_string(B) + ", T=" + std::to_string(T) + " exceeds the artifact's " +
                                "max batch " + std::to_string(artifact.maxBatch()) + " / max seq " +
                                std::to_string(artifact.maxSeq()));
  TrainStep step(artifact, batch, options.lr, options.device);
  auto start = std::chrono::steady_clock::now();
  const float first_loss = step.run();
  const double first_step_s = seconds(start);
  for (int i = 1; i < options.warmup; ++i) step.run();
  std::vector<double> times;
  for (int i = 0; i < options.runs; ++i) {
    start = std::chrono::steady_clock::now();
    step.run();
    times.push_back(seconds(start));
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const int64_t peak_rss = peakRssBytes();
  nlohmann::json result = {{"impl", "lathe"},
                           {"batch", B},
                           {"seq", T},
                           {"threads", options.threads},
                           {"runs", options.runs},
                           {"first_loss", first_loss},
                           {"first_step_s", first_step_s},
                           {"median_s", median},
                           {"min_s", times.front()},
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
  try {
    options = parseOptions(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "lathe-bench-train: " << error.what() << "\n" << kUsage;
    return 2;
  }
  try {
    return benchmark(options);
  } catch (const std::exception& error) {
    std::cerr << "lathe-bench-train: " << error.what() << "\n";
    return 1;
  }
}
