// lathe run model.lathe --tokens 1,2,3 | --tokens-file X.npy | --text "..." [--dump-logits out.npy] [--profile]
#include "Commands.h"

#include "Npy.h"
#include "lathe/lathe.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace lathe::tool {
namespace {

struct RunOptions {
  std::string artifact;
  std::string device = "cpu";
  std::string tokens;
  std::string tokens_file;
  std::string text;
  std::string dump_logits;
  int repeat = 1;
  bool profile = false;
};

}  // namespace

std::vector<int32_t> parseTokenList(const std::string& text, const std::string& option) {
  std::vector<int32_t> ids;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || value < INT32_MIN || value > INT32_MAX)
      throw std::runtime_error(option + ": '" + item + "' (item " + std::to_string(ids.size() + 1) +
                               ") is not a 32-bit integer");
    ids.push_back(static_cast<int32_t>(value));
  }
  if (ids.empty()) throw std::runtime_error(option + ": no token ids given");
  return ids;
}

namespace {

// One row per dispatch of the last run: name, kind, microseconds, % of the total.
void printProfile(const std::vector<DispatchTime>& profile) {
  double total = 0;
  size_t name_width = 8;
  for (const DispatchTime& time : profile) {
    total += time.microseconds;
    name_width = std::max(name_width, time.name.size());
  }
  std::fprintf(stderr, "%-*s  %-18s %12s %7s\n", static_cast<int>(name_width), "dispatch", "kind", "us", "%");
  for (const DispatchTime& time : profile) {
    std::fprintf(stderr, "%-*s  %-18s %12.1f %6.1f%%\n", static_cast<int>(name_width), time.name.c_str(),
                 time.kind.c_str(), time.microseconds, total > 0 ? 100.0 * time.microseconds / total : 0.0);
  }
  std::fprintf(stderr, "%-*s  %-18s %12.1f %6.1f%%\n", static_cast<int>(name_width), "total", "", total, 100.0);
}

void run(const RunOptions& options) {
  Artifact artifact(options.artifact);
  npy::TokenArray tokens;
  if (!options.tokens_file.empty()) {
    tokens = npy::readTokens(options.tokens_file);
  } else {
    tokens.ids = options.text.empty() ? parseTokenList(options.tokens, "--tokens")
                                      : Tokenizer::fromArtifact(artifact).encode(options.text);
    if (tokens.ids.empty()) throw std::runtime_error("--text: the text encodes to no tokens");
    tokens.shape = {1, static_cast<int64_t>(tokens.ids.size())};
  }
  Session session(artifact, options.device);
  session.setProfiling(options.profile);
  session.setInput<int32_t>("forward", "tokens", tokens.shape, tokens.ids);
  double best_seconds = 1e300;
  for (int i = 0; i < options.repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    session.run("forward");
    best_seconds = std::min(best_seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::vector<int64_t> shape = session.outputShape("forward", "logits");
  std::vector<float> logits = session.output<float>("forward", "logits");
  if (!options.dump_logits.empty()) npy::writeFloat32(options.dump_logits, shape, logits.data());
  int64_t token_count = tokens.shape[0] * tokens.shape[1];
  std::cerr << "lathe: forward on " << options.device << ", B=" << tokens.shape[0] << " T=" << tokens.shape[1]
            << ": " << best_seconds * 1e3 << " ms (" << token_count / best_seconds << " tokens/s)\n";
  if (options.profile) printProfile(session.profile());
}

}  // namespace

void addRunCommand(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run an artifact's forward pass on token ids");
  cmd->add_option("artifact", options->artifact, "compiled .lathe file")->required();
  cmd->add_option("--device", options->device, "cpu, vulkan, vulkan:N, vulkan:<name>, cuda or cuda:N")->capture_default_str();
  auto* list = cmd->add_option("--tokens", options->tokens, "comma-separated token ids (one sequence)");
  auto* file = cmd->add_option("--tokens-file", options->tokens_file, "(B,T) int32 .npy of token ids");
  auto* text = cmd->add_option("--text", options->text, "text to encode with the artifact's tokenizer (one sequence)");
  list->excludes(file);
  text->excludes(list)->excludes(file);
  cmd->add_option("--dump-logits", options->dump_logits, "write float32 logits (B,T,V) to this .npy");
  cmd->add_option("--repeat", options->repeat, "run this many times and report the fastest")->check(CLI::PositiveNumber);
  cmd->add_flag("--profile", options->profile, "print each dispatch's time in the last run (name, kind, us, %)");
  cmd->callback([options] {
    if (options->tokens.empty() && options->tokens_file.empty() && options->text.empty())
      throw std::runtime_error("give --tokens, --tokens-file or --text");
    run(*options);
  });
}

}  // namespace lathe::tool
