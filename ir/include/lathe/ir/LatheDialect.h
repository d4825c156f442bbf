// The lathe dialect: Transformer building blocks on tensors.
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "lathe/ir/LatheDialect.h.inc"
#include "lathe/ir/LatheEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "lathe/ir/LatheAttrs.h.inc"
#include "lathe/ir/Differentiable.h.inc"
#define GET_OP_CLASSES
#include "lathe/ir/LatheOps.h.inc"

namespace lathe::ir {

/// Function attributes bounding the dynamic batch and time dimensions.
inline constexpr llvm::StringLiteral kMaxBatchAttr = "lathe.max_batch";
inline constexpr llvm::StringLiteral kMaxSeqAttr = "lathe.max_seq";

/// Attaches the gradient rules (DifferentiableOpInterface) to the lathe ops.
void registerGradientModels(mlir::DialectRegistry& registry);
/// Checks a (B,T,Hkv,D) value against a static (Bmax,S,Hkv,D) KV cache and
/// the optional (B) i32 offsets; shared by lathe and lathe_kernel ops.
mlir::LogicalResult verifyCacheOperands(mlir::Operation* op, mlir::RankedTensorType value,
                                        mlir::RankedTensorType cache, mlir::Value offsets);
/// Checks that `offsets` (if present) is a (B) i32 vector.
mlir::LogicalResult verifyOffsets(mlir::Operation* op, mlir::Value offsets, llvm::StringRef role);

}  // namespace lathe::ir
