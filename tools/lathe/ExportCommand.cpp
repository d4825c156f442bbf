// lathe export MODEL -o DIR [--format hf|lathe]
#include "Commands.h"

#include "lathe/frontend/Frontend.h"

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

}  // namespace

void addExportCommand(CLI::App& app) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a model's description and weights to a directory");
  cmd->add_option("model", options->model, "Lathe model file or directory, or Hugging Face directory")->required();
  cmd->add_option("-o,--output", options->output, "directory to write")->required();
  cmd->add_option("--format", options->format, "hf (config.json + model.safetensors) or lathe (model.json + model.safetensors)")
      ->check(CLI::IsMember({"hf", "lathe"}))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "seed for random weights when the model has none")->capture_default_str();
  cmd->callback([options] {
    Model model = loadModel(options->model, options->seed);
    exportModel(model, options->output, options->format);
    std::cerr << "lathe: exported " << options->model << " to " << options->output << " (" << options->format << ")\n";
  });
}

}  // namespace lathe::tool
