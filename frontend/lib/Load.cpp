// loadModel / exportModel: dispatch between model files, Lathe directories
// and Hugging Face directories.
#include "Internal.h"

#include <filesystem>

namespace lathe {

using namespace frontend_detail;
namespace fs = std::filesystem;

namespace {

const char* kSpecFile = "model.json";
const char* kWeightsFile = "model.safetensors";

Model loadLatheDir(const fs::path& dir) {
  const std::string spec_path = (dir / kSpecFile).string();
  const std::string weights_path = (dir / kWeightsFile).string();
  Model model;
  model.spec = specFromJson(readTextFile(spec_path), spec_path);
  for (auto& [name, tensor] : readSafetensors(weights_path)) {
    if (tensor.dtype == DType::I32)
      throw ModelError({weights_path}, "tensor '" + name + "' is I32; weights must be F32, F16 or BF16");
    model.weights.emplace(name, toF32(tensor));
  }
  checkWeights(model.spec, model.weights, {weights_path});
  return model;
}

}  // namespace

Model loadModel(const std::string& path, uint64_t seed) {
  std::error_code ec;
  const fs::path source(path);
  if (fs::is_regular_file(source, ec)) {
    Model model;
    model.spec = parseModelFile(path);
    model.weights = initWeights(model.spec, seed);
    return model;
  }
  if (fs::is_directory(source, ec)) {
    if (fs::exists(source / kSpecFile, ec)) return loadLatheDir(source);
    if (isHuggingFaceDir(path)) return importHuggingFace(path);
    throw ModelError({path}, "directory holds neither model.json (a Lathe model directory) nor config.json "
                             "(a Hugging Face model directory)");
  }
  if (!fs::exists(source, ec)) throw ModelError({path}, "no such file or directory");
  throw ModelError({path}, "not a model file or directory");
}

void exportModel(const Model& model, const std::string& dir, const std::string& format) {
  if (format != "hf" && format != "lathe")
    throw ModelError({}, "unknown export format '" + format + "' (expected hf or lathe)");
  validateSpec(model.spec);
  checkWeights(model.spec, model.weights, {});
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw ModelError({dir}, "cannot create the directory: " + ec.message());
  if (format == "hf") {
    exportHuggingFace(model, dir);
    return;
  }
  writeSafetensors((fs::path(dir) / kWeightsFile).string(), model.weights);
  writeFileAtomic((fs::path(dir) / kSpecFile).string(), specToJson(model.spec) + "\n");
}

}  // namespace lathe
