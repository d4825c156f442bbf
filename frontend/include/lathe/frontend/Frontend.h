// Entry points of the frontend: every way a model reaches Lathe.
#pragma once

#include "lathe/frontend/ModelSpec.h"

#include <string>

namespace lathe {

/// Parses a Lathe model file (YAML, comments allowed). Throws ModelError naming
/// file:line:col on any bad input. `text` overload is for tests and fuzzing.
ModelSpec parseModelFile(const std::string& path);
ModelSpec parseModelText(const std::string& text, const std::string& filename);

/// Checks sizes and the block graph; throws ModelError at the offending key.
void validateSpec(const ModelSpec& spec);

/// The weight names and shapes the spec requires, in a stable order.
std::vector<std::pair<std::string, std::vector<int64_t>>> expectedWeights(const ModelSpec& spec);

/// GPT-2 style seeded initialization: N(0, 0.02), residual projections scaled
/// by 1/sqrt(2*n_layers), biases zero, norm weights one.
Weights initWeights(const ModelSpec& spec, uint64_t seed);

/// Loads a model from any accepted source:
///  - a Lathe model file (weights initialized with `seed`),
///  - a Hugging Face directory (config.json + model.safetensors, GPT-2 or Llama),
///  - a Lathe directory (model.json + model.safetensors, as `lathe export --format lathe` writes).
/// Checks that every expected weight is present with the right shape.
Model loadModel(const std::string& path, uint64_t seed = 0);

/// The canonical JSON description of a spec (the form stored in artifacts and
/// read by the PyTorch reference), and back.
std::string specToJson(const ModelSpec& spec);
ModelSpec specFromJson(const std::string& json, const std::string& filename);

/// safetensors I/O. Reading validates the header, offsets and sizes and throws
/// ModelError naming the file and tensor on any inconsistency.
Weights readSafetensors(const std::string& path);
void writeSafetensors(const std::string& path, const Weights& weights);  // atomic (temp + rename)

/// The tensor converted to F32 (a copy when it already is). F16 and BF16
/// widen exactly; I32 throws ModelError naming the tensor.
Tensor toF32(const Tensor& tensor);

/// Hugging Face layout. Import converts names and layouts to Lathe's canonical ones.
bool isHuggingFaceDir(const std::string& path);
Model importHuggingFace(const std::string& dir);
/// Writes config.json + model.safetensors. `format` is "hf" (GPT2Config or
/// LlamaConfig; errors if the model is not expressible) or "lathe" (model.json + canonical names).
void exportModel(const Model& model, const std::string& dir, const std::string& format);

}  // namespace lathe
