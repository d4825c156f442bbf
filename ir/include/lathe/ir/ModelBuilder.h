// Emits the lathe dialect for a model description.
#pragma once

#include "lathe/frontend/ModelSpec.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace lathe::ir {

/// Builds `func.func @forward(%tokens: tensor<?x?xi32>) -> tensor<?x?xVxf32>`
/// (logits) for `spec`, with weights as `lathe.param` ops under their
/// canonical names. B and T are bounded by max_batch and max_seq.
mlir::OwningOpRef<mlir::ModuleOp> buildForward(mlir::MLIRContext& context, const ModelSpec& spec,
                                               int64_t max_batch, int64_t max_seq);

}  // namespace lathe::ir
