// The lathe compiler's passes (declared in Passes.td) and the standard pipeline.
#pragma once

#include "lathe/ir/KernelDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace lathe::passes {

#define GEN_PASS_DECL
#include "lathe/passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lathe/passes/Passes.h.inc"

/// lathe dialect -> planned lathe_kernel dispatches: infer shapes,
/// canonicalize, lower, fuse, plan memory.
void buildKernelPipeline(mlir::OpPassManager& pm);
void registerPipelines();

/// Symbolic size of dimension `index` of `type` under the (B, T) convention:
/// a dynamic dim 0 is B and a dynamic dim 1 is T.
struct SymbolicDim {
  int64_t coefficient = 1;
  int b_pow = 0;
  int t_pow = 0;
  SymbolicDim operator*(const SymbolicDim& o) const {
    return {coefficient * o.coefficient, b_pow + o.b_pow, t_pow + o.t_pow};
  }
  int64_t at(int64_t batch, int64_t seq) const;
};
SymbolicDim symbolicDim(mlir::RankedTensorType type, int64_t index);
/// Product of dimensions [begin, end) of `type`.
SymbolicDim symbolicProduct(mlir::RankedTensorType type, int64_t begin, int64_t end);

}  // namespace lathe::passes
