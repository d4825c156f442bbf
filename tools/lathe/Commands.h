// Subcommands of the `lathe` executable.
#pragma once

#include <CLI/CLI.hpp>

#include "lathe/lathe.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace lathe::tool {

/// Registers each subcommand on `app`; the callback runs the command and may
/// throw any lathe error, which main() reports.
void addCompileCommand(CLI::App& app);
void addRunCommand(CLI::App& app);
void addExportCommand(CLI::App& app);
void addTokenizerCommand(CLI::App& app);
void addSampleCommand(CLI::App& app);
void addTrainCommand(CLI::App& app);
void addPlotCommand(CLI::App& app);

/// What `lathe train` compiles a model file with (CompileCommand.cpp).
struct CompileRequest {
  std::string model;
  int64_t max_batch = 4;
  int64_t max_seq = 0;  // 0: the context length
  uint64_t seed = 0;
  std::string tokenizer;
  bool train = false;
  std::string device = "cpu";  // the artifact also gets code for this device's target ("vulkan:1" -> vulkan)
};
/// Compiles in-process for the cpu (and the device's target) and returns the artifact's bytes.
std::vector<uint8_t> compileModel(const CompileRequest& request);

/// "1,2,3" -> ids; `option` names the flag in errors.
std::vector<int32_t> parseTokenList(const std::string& text, const std::string& option);

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// fsync and rename, so a crash never leaves a half-written file at `path`.
void writeFileAtomically(const std::string& path, const uint8_t* bytes, size_t size);

/// A tokenizer from a directory, a tokenizer.json, or a .lathe artifact (TokenizerCommand.cpp).
Tokenizer openTokenizer(const std::string& path);

}  // namespace lathe::tool
