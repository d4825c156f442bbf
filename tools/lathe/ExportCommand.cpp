// lathe export MODEL_OR_CHECKPOINT -o DIR [--format hf|lathe]
#include "Commands.h"

#include "Checkpoint.h"
#include "lathe/frontend/Frontend.h"

#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

namespace lathe::tool {
namespace {

struct ExportOptions {
  std::string model;
  std::string output;
  std::string format = "hf";
  uint64_t seed = 0;
};

bool isCheckpoint(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) return fs::exists(train::checkpointFile(path));
  return path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0;
}

/// The trained weights of a `lathe train` checkpoint (its param.* tensors) with the model it describes.
Model modelFromCheckpoint(const std::string& path) {
  const train::Checkpoint checkpoint = train::loadCheckpoint(path);
  Model model;
  model.spec = specFromJson(checkpoint.model_json, path);
  const std::string prefix = "param.";
  for (const auto& [name, tensor] : checkpoint.tensors) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    Tensor weight;
    weight.name = name.substr(prefix.size());
    weight.shape = tensor.shape;
    weight.data.resize(tensor.values.size() * sizeof(float));
    std::memcpy(weight.data.data(), tensor.values.data(), weight.data.size());
    model.weights.emplace(weight.name, std::move(weight));
  }
  const auto expected = expectedWeights(model.spec);
  for (const auto& [name, shape] : expected) {
    if (!model.weights.count(name))
      throw std::runtime_error(path + ": the checkpoint has no trained weight '" + name + "' (param." + name + ")");
  }
  return model;
}

}  // namespace

void addExportCommand(CLI::App& app) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a model's description and weights to a directory");
  cmd->add_option("model", options->model,
                  "Lathe model file or directory, Hugging Face directory, or `lathe train` checkpoint (directory or file)")
      ->required();
  cmd->add_option("-o,--output", options->output, "directory to write")->required();
  cmd->add_option("--format", options->format, "hf (config.json + model.safetensors) or lathe (model.json + model.safetensors)")
      ->check(CLI::IsMember({"hf", "lathe"}))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "seed for random weights when the model has none")->capture_default_str();
  cmd->callback([options] {
    Model model = isCheckpoint(options->model) ? modelFromCheckpoint(options->model)
                                               : loadModel(options->model, options->seed);
    exportModel(model, options->output, options->format);
    std::cerr << "lathe: exported " << options->model << " to " << options->output << " (" << options->format << ")\n";
  });
}

}  // namespace lathe::tool
