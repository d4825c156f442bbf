// Kernel IR + weights -> the FlatBuffers artifact (runtime/schema/artifact.fbs).
#pragma once

#include "lathe/frontend/ModelSpec.h"
#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lathe::codegen {

/// A byte-level BPE tokenizer to store in the artifact (schema table Tokenizer).
struct TokenizerData {
  std::string kind = "gpt2_byte_bpe";
  std::vector<std::string> tokens;                    // id -> bytes
  std::vector<uint32_t> special_ids;
  std::vector<std::pair<uint32_t, uint32_t>> merges;  // rank -> (left, right)
};

struct ArtifactOptions {
  std::string target = "cpu";
  std::string model_json;  // canonical model description
  std::optional<TokenizerData> tokenizer;
  /// How weights are stored: F32, or F16 (rounded to nearest even; inference
  /// only, since trainable parameter states start from f32 weights).
  DType weight_dtype = DType::F32;
  std::vector<std::string> cuda_archs{"sm_80", "sm_90"};  // cubins to assemble for target cuda
  bool cuda_tensor_cores = true;  // cuda GEMMs on tensor cores, else the scalar kernels
  /// Tensor-core GEMMs round operands to TF32 (~1e-3 relative) instead of
  /// keeping fp32 accuracy with split operands (3x the tensor-core work).
  bool tf32_matmul = false;
};

/// Serializes every planned function of `module` (after the kernel pipeline)
/// as an entry point, with the weights its `lathe.param` ops name. Emits an
/// MLIR error and returns an empty vector when the IR cannot be encoded.
std::vector<uint8_t> writeArtifact(mlir::ModuleOp module, const Weights& weights, const ArtifactOptions& options);

}  // namespace lathe::codegen
