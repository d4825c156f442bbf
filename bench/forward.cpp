// lathe-bench-forward: forward-pass throughput of a compiled artifact on a
// device (cpu by default). Warm-up, then timed runs on seeded random token ids (or ids from a
// .npy); prints one JSON object: median/min seconds and tokens/s.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
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

const char* const kUsage =
    "usage: lathe-bench-forward ARTIFACT [--batch B] [--seq T] [--threads N] [--warmup N] [--runs N]\n"
    "                           [--seed S] [--tokens-file ids.npy] [--dump-logits out.npy]\n"
    "                           [--device cpu|vulkan[:N]|cuda[:N]] [--profile 0|1]\n";

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
    if (arg == "--batch") options.batch = parseInteger(arg, value, 1);
    else if (arg == "--seq") options.seq = parseInteger(arg, value, 1);
    else if (arg == "--threads") options.threads = static_cast<int>(parseInteger(arg, value, 1));
    else if (arg == "--warmup") options.warmup = static_cast<int>(parseInteger(arg, value, 0));
    else if (arg == "--runs") options.runs = static_cast<int>(parseInteger(arg, value, 1));
    else if (arg == "--seed") options.seed = static_cast<uint32_t>(parseInteger(arg, value, 0));
    else if (arg == "--tokens-file") options.tokens_file = value;
    else if (arg == "--dump-logits") options.dump_logits = value;
    else if (arg == "--device") options.device = value;
    else if (arg == "--profile") options.profile = parseInteger(arg, value, 0) != 0;
    else throw std::invalid_argument("unknown option '" + arg + "'");
  }
  if (options.artifact.empty()) throw std::invalid_argument("no artifact given");
  return options;
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

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int benchmark(const Options& options) {
  // The CPU device sizes its thread pool from this variable when the session is created.
  setenv("LATHE_NUM_THREADS", std::to_string(options.threads).c_str(), 1);
  lathe::Artifact artifact(options.artifact);
  lathe::npy::TokenArray tokens =
      options.tokens_file.empty() ? randomTokens(artifact, options) : lathe::npy::readTokens(options.tokens_file);
  const int64_t B = tokens.shape[0], T = tokens.shape[1];
  if (B > artifact.maxBatch() || T > artifact.maxSeq())
    throw std::invalid_argument("B=" + std::to_string(B) + ", T=" + std::to_string(T) + " exceeds the artifact's " +
                                "max batch " + std::to_string(artifact.maxBatch()) + " / max seq " +
                                std::to_string(artifact.maxSeq()));
  lathe::Session session(artifact, options.device);
  session.setInput<int32_t>("forward", "tokens", tokens.shape, tokens.ids);
  for (int i = 0; i < options.warmup; ++i) session.run("forward");
  std::vector<double> times;
  for (int i = 0; i < options.runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    session.run("forward");
    times.push_back(seconds(start));
  }
  if (!options.dump_logits.empty()) {
    std::vector<float> logits = session.output<float>("forward", "logits");
    lathe::npy::writeFloat32(options.dump_logits, session.outputShape("forward", "logits"), logits.data());
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  nlohmann::json result = {{"impl", "lathe"},
                           {"batch", B},
                           {"seq", T},
                           {"threads", options.threads},
                           {"runs", options.runs},
                           {"median_s", median},
                           {"min_s", times.front()},
                           {"tokens_per_s", double(B * T) / median},
                           {"device", options.device}};
  if (options.profile) result["kernels"] = lathe::bench::profileByKind(session, "forward");
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parseOptions(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "lathe-bench-forward: " << error.what() << "\n" << kUsage;
    return 2;
  }
  try {
    return benchmark(options);
  } catch (const std::exception& error) {
    std::cerr << "lathe-bench-forward: " << error.what() << "\n";
    return 1;
  }
}
