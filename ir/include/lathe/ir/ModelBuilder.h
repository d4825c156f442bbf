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

/// Builds `forward` plus the inference entry points sharing one KV cache
/// (`lathe.state` per layer, (max_batch, max_seq, Hkv, D) for keys and values):
///   @prefill(%tokens: (B,T) i32 right-padded, %lengths: (B) i32) -> (B,V) logits
///     at each prompt's last real token; fills cache rows [0, T).
///   @decode(%tokens: (B,1) i32, %positions: (B) i32) -> (B,V) logits; the token
///     of sequence b sits at positions[b], is cached there and attends to rows
///     [0, positions[b]].
mlir::OwningOpRef<mlir::ModuleOp> buildInference(mlir::MLIRContext& context, const ModelSpec& spec,
                                                 int64_t max_batch, int64_t max_seq);

}  // namespace lathe::ir
