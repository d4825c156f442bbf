// Kernel IR + weights -> the FlatBuffers artifact (runtime/schema/artifact.fbs).
#pragma once

#include "lathe/frontend/ModelSpec.h"
#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lathe::codegen {

struct ArtifactOptions {
  std::string target = "cpu";
  std::string model_json;  // canonical model description
};

/// Serializes every planned function of `module` (after the kernel pipeline)
/// as an entry point, with the weights its `lathe.param` ops name. Emits an
/// MLIR error and returns an empty vector when the IR cannot be encoded.
std::vector<uint8_t> writeArtifact(mlir::ModuleOp module, const Weights& weights, const ArtifactOptions& options);

}  // namespace lathe::codegen
